//! Changing a session's status: the one place that does it.
//!
//! The `session.status` event is made durable first, then the session row is
//! updated. The log is the source of truth: a client that sees the new status
//! through `GET /sessions/{id}` finds the event in the log too, and a crash in
//! between leaves a log that recovery can act on.

use agentd_protocol::event::StatusChanged;
use agentd_protocol::{EventData, SessionStatus};
use agentd_store::SessionRecord;

use crate::error::CoreError;
use crate::log::now_ms;
use crate::manager::Inner;

pub(crate) async fn change_status(
    inner: &Inner,
    record: &mut SessionRecord,
    status: SessionStatus,
    reason: Option<String>,
) -> Result<(), CoreError> {
    let event = EventData::SessionStatus(StatusChanged {
        status,
        reason: reason.clone(),
    });
    inner.log.append_durable(record.id, event).await?;
    record.status = status;
    record.status_reason = reason;
    record.updated_at = now_ms();
    inner.store.update_session(record).await?;
    Ok(())
}
