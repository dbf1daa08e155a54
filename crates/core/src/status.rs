//! Changing a session's status: the one place that does it.
//!
//! The `session.status` event and the session row are written in one
//! transaction (through the event log's `commit`), so what
//! `GET /sessions/{id}` shows is always what the log says last, whenever
//! the process dies. Events that belong with the change (a turn's start or
//! end) and rows that change with it go into the same transaction.

use agentd_protocol::event::StatusChanged;
use agentd_protocol::{EventData, SessionStatus};
use agentd_store::{BatchWrites, SessionRecord};

use crate::error::CoreError;
use crate::log::now_ms;
use crate::manager::Inner;

pub(crate) async fn change_status(
    inner: &Inner,
    record: &mut SessionRecord,
    status: SessionStatus,
    reason: Option<String>,
) -> Result<(), CoreError> {
    commit_status(
        inner,
        record,
        status,
        reason,
        Vec::new(),
        Vec::new(),
        BatchWrites::default(),
    )
    .await
}

/// The status change with the events logged `before` and `after` it and
/// other `writes`, all durable together or not at all. `record` (with its
/// other fields as the caller changed them) is the row written.
pub(crate) async fn commit_status(
    inner: &Inner,
    record: &mut SessionRecord,
    status: SessionStatus,
    reason: Option<String>,
    before: Vec<EventData>,
    after: Vec<EventData>,
    mut writes: BatchWrites,
) -> Result<(), CoreError> {
    let mut row = record.clone();
    row.status = status;
    row.status_reason = reason.clone();
    row.updated_at = now_ms();
    let mut events = before;
    events.push(EventData::SessionStatus(StatusChanged { status, reason }));
    events.extend(after);
    writes.sessions.push(row.clone());
    inner.log.commit(record.id, events, writes).await?;
    *record = row;
    Ok(())
}
