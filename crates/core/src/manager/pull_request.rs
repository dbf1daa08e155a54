//! A task's pull request closed on GitHub: merged means the task is done
//! (`completed`), closed without merging means its work was turned down
//! (`cancelled`). The webhook route learns it; this records it.

use agentd_protocol::{PullRequestState, SessionStatus, TaskView};

use crate::engine_state::EngineState;
use crate::error::CoreError;
use crate::manager::Reach;
use crate::manager::SessionManager;
use crate::turn::StatusCommit;

impl SessionManager {
    /// Marks the task that opened pull request `number` of `repo`
    /// (`owner/name`) as merged or closed. `None` when no task opened it.
    ///
    /// While a follow-up turn runs, only the pull request's state is
    /// recorded: the turn decides the session's status when it ends.
    pub async fn pull_request_closed(
        &self,
        repo: &str,
        number: u64,
        merged: bool,
    ) -> Result<Option<TaskView>, CoreError> {
        let Some(id) = self
            .services
            .store
            .task_for_pull_request(repo, number)
            .await?
        else {
            return Ok(None);
        };
        let live = self.sessions.get(id);
        // Held so no turn starts (and later overwrites the record) meanwhile.
        let held = live.hold().await;
        let Some(mut record) = self.services.store.get_session(id).await? else {
            return Ok(None);
        };
        let Some(mut task) = EngineState::of(&record).task else {
            return Ok(None);
        };
        let (pr_state, status, reason) = if merged {
            (
                PullRequestState::Merged,
                SessionStatus::Completed,
                format!("pull request #{number} was merged"),
            )
        } else {
            (
                PullRequestState::Closed,
                SessionStatus::Cancelled,
                format!("pull request #{number} was closed without merging"),
            )
        };
        task.pr_number = Some(number);
        task.pr_state = Some(pr_state);
        EngineState::update(&mut record, |state| state.task = Some(task));
        if held.running() {
            self.services.store.update_session(&record).await?;
        } else {
            StatusCommit::to(status, Some(reason))
                .commit(&self.services, &mut record)
                .await?;
        }
        drop(held);
        self.task_within(id, Reach::All).await.map(Some)
    }
}
