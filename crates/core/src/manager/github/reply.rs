//! The reply comment of a task started from GitHub: posted when the task
//! starts, edited in place with the result when it ends. One background
//! task per reply; the store remembers which replies still wait, so a
//! restart resumes them (`resume_replies`).

use std::sync::Arc;
use std::time::Duration;

use crate::error::CoreError;
use crate::manager::{Reach, SessionManager};
use agentd_github::{GitHubClient, GitHubError};
use agentd_protocol::{EventData, TaskView};
use agentd_store::TaskReply;
use tokio::sync::broadcast::error::RecvError;

use super::GitHubWebhooks;
use super::comment;

/// Attempts at a GitHub call that failed in a way that may pass.
const ATTEMPTS: u32 = 3;

pub(crate) fn spawn(manager: SessionManager, config: Arc<GitHubWebhooks>, reply: TaskReply) {
    tokio::spawn(async move {
        let Some(client) = config.client() else {
            return;
        };
        let Some((owner, repo)) = agentd_github::parse_repo(&reply.repo) else {
            return;
        };
        Replier {
            manager,
            client,
            owner,
            repo,
            reply,
        }
        .run()
        .await;
    });
}

/// Edits the comment of a reply that already shows its result (the task's
/// pull request was merged or closed since).
pub(crate) fn refresh(config: Arc<GitHubWebhooks>, reply: TaskReply, task: TaskView) {
    tokio::spawn(async move {
        let (Some(client), Some(comment_id), Some((owner, repo))) = (
            config.client(),
            reply.comment_id,
            agentd_github::parse_repo(&reply.repo),
        ) else {
            return;
        };
        let body = comment::finished(&task, &reply.task_url);
        let result = retry(|| client.update_issue_comment(&owner, &repo, comment_id, &body)).await;
        if let Err(e) = result {
            tracing::warn!(id = %reply.session_id, error = %e, "cannot update the GitHub reply");
        }
    });
}

struct Replier {
    manager: SessionManager,
    client: GitHubClient,
    owner: String,
    repo: String,
    reply: TaskReply,
}

impl Replier {
    async fn run(mut self) {
        let id = self.reply.session_id;
        // Subscribed before the first look, so an end in between is seen.
        let mut events = self.manager.subscribe(id);
        let Some(task) = self.task().await else {
            return;
        };
        // Always the same two steps, however fast the task was: a link at
        // once, then that comment edited with the result.
        if self.reply.comment_id.is_none() {
            self.post_started(&task).await;
        }
        loop {
            let Some(task) = self.task().await else {
                return;
            };
            if comment::is_final(task.status) {
                self.post_result(&task).await;
                return;
            }
            // Only status changes can end a task: skip the rest cheaply.
            loop {
                match events.recv().await {
                    Ok(event) if matches!(event.envelope.event, EventData::SessionStatus(_)) => {
                        break;
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => break,
                    Err(RecvError::Closed) => {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        events = self.manager.subscribe(id);
                        break;
                    }
                }
            }
        }
    }

    /// The task now; `None` once it is gone (deleted).
    async fn task(&self) -> Option<TaskView> {
        loop {
            match self
                .manager
                .task_within(self.reply.session_id, Reach::All)
                .await
            {
                Ok(task) => return Some(task),
                Err(CoreError::NotFound) => return None,
                Err(e) => {
                    tracing::warn!(id = %self.reply.session_id, error = %e, "cannot read the task for its GitHub reply");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        }
    }

    async fn post_started(&mut self, task: &TaskView) {
        let body = comment::started(task, &self.reply.task_url);
        let posted = retry(|| {
            self.client.create_issue_comment(
                &self.owner,
                &self.repo,
                self.reply.issue_number,
                &body,
            )
        })
        .await;
        match posted {
            Ok(posted) => {
                self.reply.comment_id = Some(posted.id);
                let store = &self.manager.services.store;
                if let Err(e) = store
                    .set_task_reply_comment(self.reply.session_id, posted.id)
                    .await
                {
                    tracing::warn!(id = %self.reply.session_id, error = %e, "cannot remember the GitHub reply");
                }
            }
            // The result will come as a new comment instead.
            Err(e) => {
                tracing::warn!(id = %self.reply.session_id, error = %e, "cannot reply on GitHub");
            }
        }
    }

    async fn post_result(&self, task: &TaskView) {
        let body = comment::finished(task, &self.reply.task_url);
        let sent = match self.reply.comment_id {
            Some(comment_id) => retry(|| {
                self.client
                    .update_issue_comment(&self.owner, &self.repo, comment_id, &body)
            })
            .await
            .map(|_| ()),
            None => retry(|| {
                self.client.create_issue_comment(
                    &self.owner,
                    &self.repo,
                    self.reply.issue_number,
                    &body,
                )
            })
            .await
            .map(|_| ()),
        };
        match sent {
            Ok(()) => {
                let now = time::OffsetDateTime::now_utc();
                if let Err(e) = self
                    .manager
                    .services
                    .store
                    .mark_task_reply_reported(self.reply.session_id, now)
                    .await
                {
                    tracing::warn!(id = %self.reply.session_id, error = %e, "cannot record the GitHub reply");
                }
            }
            // Left pending: the next start tries again.
            Err(e) => {
                tracing::warn!(id = %self.reply.session_id, error = %e, "cannot post the result on GitHub");
            }
        }
    }
}

/// Runs `call` until it succeeds, fails for good, or `ATTEMPTS` are spent,
/// waiting as GitHub asks (capped) between tries.
async fn retry<T, F, Fut>(mut call: F) -> Result<T, GitHubError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, GitHubError>>,
{
    let mut attempt = 1;
    loop {
        match call().await {
            Err(e) if e.is_retryable() && attempt < ATTEMPTS => {
                let wait = match &e {
                    GitHubError::RateLimited { retry_after } => {
                        (*retry_after).min(Duration::from_secs(60))
                    }
                    _ => Duration::from_secs(2 * u64::from(attempt)),
                };
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}
