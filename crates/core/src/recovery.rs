//! Start-up after a crash: turns the previous process was running are marked
//! `interrupted` (with events), and inputs it had acknowledged but not yet
//! run are handed to drivers, so nothing acknowledged is dropped.

use agentd_protocol::event::{ErrorEvent, TurnCompleted};
use agentd_protocol::{ErrorCode, EventData, SessionStatus, TurnStopReason, Usage};

use crate::error::CoreError;
use crate::manager::SessionManager;

const REASON: &str = "the server stopped while this turn was running";

pub(crate) async fn recover(manager: &SessionManager) -> Result<(), CoreError> {
    let inner = &manager.inner;
    let active = [
        SessionStatus::Queued,
        SessionStatus::Running,
        SessionStatus::BlockedOnApproval,
        // Paused inside a turn (budget or request): the turn is gone now.
        SessionStatus::Paused,
    ];
    let sessions = inner.store.sessions_with_status(&active).await?;
    for mut record in sessions {
        let id = record.id;
        let pending = inner.store.pending_inputs(id).await?;
        // A queued session whose input was already taken had started its turn.
        if record.status != SessionStatus::Queued || pending.is_empty() {
            tracing::warn!(%id, turn = record.turns, "marking interrupted turn");
            inner
                .log
                .append(
                    id,
                    EventData::Error(ErrorEvent {
                        code: ErrorCode::Interrupted,
                        message: REASON.to_owned(),
                        retryable: true,
                    }),
                )
                .await;
            inner
                .log
                .append(
                    id,
                    EventData::TurnCompleted(TurnCompleted {
                        turn: record.turns,
                        stop_reason: TurnStopReason::Interrupted,
                        denied: 0,
                        usage: Usage::default(),
                    }),
                )
                .await;
            crate::status::change_status(
                inner,
                &mut record,
                SessionStatus::Interrupted,
                Some(REASON.to_owned()),
            )
            .await?;
        }
        if !pending.is_empty() {
            tracing::info!(%id, inputs = pending.len(), "resuming acknowledged inputs");
            manager.schedule_recovered(id, pending).await;
        }
    }
    Ok(())
}
