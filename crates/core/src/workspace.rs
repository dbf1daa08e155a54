//! The session's workspace: prepared at creation (a worktree on the
//! session's own branch for repositories), checkpointed after every turn,
//! rolled back on request. The git work itself is `agentd-workspace`'s.

use agentd_protocol::event::{Checkpoint, ErrorEvent};
use agentd_protocol::{ErrorCode, EventData, SessionId, SessionView, WorkspaceSpec};
use agentd_store::SessionRecord;
use agentd_workspace::{Prepared, WorkspaceError};
use serde_json::{Value, json};

use crate::error::CoreError;
use crate::manager::{Inner, SessionManager};
use crate::turn::Turn;

/// Where the prepared workspace lives in `runtime_state`.
const KEY: &str = "workspace";

pub(crate) async fn prepare(
    inner: &Inner,
    id: SessionId,
    spec: &WorkspaceSpec,
) -> Result<Prepared, CoreError> {
    inner
        .workspaces
        .prepare(&id.to_string(), spec)
        .await
        .map_err(to_core)
}

fn to_core(e: WorkspaceError) -> CoreError {
    if e.is_caller_error() {
        CoreError::WorkspaceInvalid(e.to_string())
    } else {
        CoreError::Workspace(e.to_string())
    }
}

/// A new session's engine state: its workspace, and `extra` if any.
pub(crate) fn state_with(prepared: &Prepared, extra: Option<(&str, Value)>) -> Value {
    let mut state = json!({ KEY: prepared });
    if let (Some((key, value)), Value::Object(map)) = (extra, &mut state) {
        map.insert(key.to_owned(), value);
    }
    state
}

pub(crate) fn prepared(record: &SessionRecord) -> Option<Prepared> {
    let value = record.runtime_state.as_ref()?.get(KEY)?;
    serde_json::from_value(value.clone()).ok()
}

/// The API view of a session, with what only the engine knows.
pub(crate) fn view(record: &SessionRecord) -> SessionView {
    let mut view = record.view();
    view.branch = prepared(record).and_then(|p| p.branch);
    view.pr_url = crate::task::pr_url(record);
    view
}

/// Save the workspace as the turn left it. A failure is reported, never
/// fatal: the turn's work is still in the workspace.
pub(crate) async fn checkpoint(turn: &Turn<'_>) {
    let Some(prepared) = prepared(&turn.record) else {
        return;
    };
    let session = turn.id.to_string();
    match turn
        .manager
        .inner
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

impl SessionManager {
    /// The session's checkpoints, oldest turn first.
    pub async fn checkpoints(&self, id: SessionId) -> Result<Vec<Checkpoint>, CoreError> {
        let record = self.record(id).await?;
        let Some(prepared) = prepared(&record) else {
            return Ok(Vec::new());
        };
        let list = self
            .inner
            .workspaces
            .checkpoints(&prepared, &id.to_string())
            .await
            .map_err(to_core)?;
        Ok(list
            .into_iter()
            .map(|c| Checkpoint {
                turn: c.turn,
                commit: c.commit,
            })
            .collect())
    }

    /// Restore the workspace to how turn `turn` left it. Refused while a
    /// turn runs.
    pub async fn rollback(&self, id: SessionId, turn: u32) -> Result<SessionView, CoreError> {
        let record = self.record(id).await?;
        let prepared = prepared(&record).ok_or_else(|| {
            CoreError::Unsupported("this session's workspace has no checkpoints".into())
        })?;
        let live = self.live(id);
        let state = live.state.lock().await;
        if state.running {
            return Err(CoreError::Busy(
                "a turn is running; cancel it or wait before rolling back".into(),
            ));
        }
        let checkpoints = self
            .inner
            .workspaces
            .checkpoints(&prepared, &id.to_string())
            .await
            .map_err(to_core)?;
        let Some(checkpoint) = checkpoints.into_iter().find(|c| c.turn == turn) else {
            return Err(CoreError::Missing(format!("no checkpoint for turn {turn}")));
        };
        self.inner
            .workspaces
            .rollback(&prepared, &id.to_string(), turn)
            .await
            .map_err(to_core)?;
        self.inner
            .log
            .append_durable(
                id,
                EventData::CheckpointRestored(Checkpoint {
                    turn,
                    commit: checkpoint.commit,
                }),
            )
            .await?;
        drop(state);
        self.get_session(id).await
    }
}
