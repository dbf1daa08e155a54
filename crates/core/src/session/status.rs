//! Changing a session's status: the one place that does it.
//!
//! The `session.status` event and the session row are written in one
//! transaction (through the event log's `commit`), so what
//! `GET /sessions/{id}` shows is always what the log says last, whenever
//! the process dies. Events that belong with the change (a turn's start or
//! end) and rows that change with it go into the same transaction.

use agentd_store::SessionRecord;

use crate::error::CoreError;
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
        let (events, writes, row) = self.prepare(record);
        services.log.commit(record.id, events, writes).await?;
        *record = row;
        Ok(())
    }
}
