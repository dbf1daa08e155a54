//! Changes made to a workspace from outside a turn (a file uploaded through
//! the API). They go into the session's event log like the agent's own
//! edits, so everyone following the session sees them. Uploads are allowed
//! while a turn runs; the event then lands between that turn's events.

use agentd_protocol::event::FileChanged;
use agentd_protocol::{EventData, SessionId};

use crate::error::CoreError;
use crate::manager::SessionManager;

impl SessionManager {
    /// Appends a durable `file.changed` event; returns its `seq`.
    pub async fn record_file_change(
        &self,
        id: SessionId,
        change: FileChanged,
    ) -> Result<u64, CoreError> {
        Ok(self
            .services
            .log
            .append_durable(id, EventData::FileChanged(change))
            .await?)
    }
}
