//! Saving the workspace as a turn left it (a commit on the session's
//! checkpoint ref; the git work is `agentd-workspace`'s). A failure is
//! reported, never fatal: the turn's work is still in the workspace.

use agentd_protocol::event::{Checkpoint, ErrorEvent};
use agentd_protocol::{ErrorCode, EventData};

use crate::engine_state::EngineState;
use crate::turn::Turn;

pub(crate) async fn checkpoint(turn: &Turn) {
    let Some(prepared) = EngineState::of(&turn.record).workspace else {
        return;
    };
    let session = turn.id.to_string();
    match turn
        .kit
        .workspaces
        .checkpoint(&prepared, &session, turn.number)
        .await
    {
        Ok(Some(commit)) => {
            turn.emit(EventData::CheckpointCreated(Checkpoint {
                turn: turn.number,
                commit,
            }))
            .await;
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(id = %turn.id, error = %e, "checkpoint failed");
            turn.emit(EventData::Error(ErrorEvent {
                code: ErrorCode::CheckpointFailed,
                message: format!("could not checkpoint the workspace: {e}"),
                retryable: true,
            }))
            .await;
        }
    }
}
