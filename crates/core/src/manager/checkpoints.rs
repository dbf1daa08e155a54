//! A session's checkpoints (one per turn that changed the workspace) and
//! rolling the workspace back to one of them.

use agentd_protocol::event::Checkpoint;
use agentd_protocol::{EventData, SessionId, SessionView};

use crate::engine_state::EngineState;
use crate::error::CoreError;
use crate::manager::SessionManager;

impl SessionManager {
    /// The session's checkpoints, oldest turn first.
    pub async fn checkpoints(&self, id: SessionId) -> Result<Vec<Checkpoint>, CoreError> {
        let record = self.record(id).await?;
        let Some(prepared) = EngineState::of(&record).workspace else {
            return Ok(Vec::new());
        };
        let list = self
            .services
            .kit
            .workspaces
            .checkpoints(&prepared, &id.to_string())
            .await?;
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
        let prepared = EngineState::of(&record).workspace.ok_or_else(|| {
            CoreError::Unsupported("this session's workspace has no checkpoints".into())
        })?;
        let live = self.sessions.get(id);
        let held = live.hold().await;
        if held.running() {
            return Err(CoreError::Busy(
                "a turn is running; cancel it or wait before rolling back".into(),
            ));
        }
        let checkpoints = self
            .services
            .kit
            .workspaces
            .checkpoints(&prepared, &id.to_string())
            .await?;
        let Some(checkpoint) = checkpoints.into_iter().find(|c| c.turn == turn) else {
            return Err(CoreError::Missing(format!("no checkpoint for turn {turn}")));
        };
        self.services
            .kit
            .workspaces
            .rollback(&prepared, &id.to_string(), turn)
            .await?;
        self.services
            .log
            .append_durable(
                id,
                EventData::CheckpointRestored(Checkpoint {
                    turn,
                    commit: checkpoint.commit,
                }),
            )
            .await?;
        drop(held);
        self.get_session(id).await
    }
}
