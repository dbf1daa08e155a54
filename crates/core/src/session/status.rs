//! Changing a session's status: the one place that does it.
//!
//! The `session.status` event and the session row are written in one
//! transaction (through the event log's `commit`), so what
//! `GET /sessions/{id}` shows is always what the log says last, whenever
//! the process dies. Events that belong with the change (a turn's start or
//! end) and rows that change with it go into the same transaction.

use agentd_protocol::EventData;
use agentd_protocol::event::StatusChanged;
use agentd_store::SessionRecord;

use crate::error::CoreError;
use crate::event_log::now_ms;
use crate::services::Services;
use crate::turn::StatusCommit;

impl StatusCommit {
    /// Writes the change; `record` (with its other fields as the caller
    /// changed them) is the row written, and is updated on success.
    pub(crate) async fn commit(
        self,
        services: &Services,
        record: &mut SessionRecord,
    ) -> Result<(), CoreError> {
        let Self {
            status,
            reason,
            before,
            after,
            mut writes,
        } = self;
        let mut row = record.clone();
        row.status = status;
        row.status_reason = reason.clone();
        row.updated_at = now_ms();
        let mut events = before;
        events.push(EventData::SessionStatus(StatusChanged { status, reason }));
        events.extend(after);
        writes.sessions.push(row.clone());
        services.log.commit(record.id, events, writes).await?;
        *record = row;
        Ok(())
    }
}
