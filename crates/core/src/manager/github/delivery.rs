//! What a verified, first-seen delivery does: answer a ping, start a task
//! for a mention or a label, or end the task whose pull request closed.

use std::sync::Arc;

use agentd_github::{GitHubClient, TaskTrigger, WebhookEvent};
use agentd_protocol::{CreateTaskRequest, SessionId, WebhookOutcome};
use agentd_store::TaskReply;

use super::{GitHubWebhooks, comment, reply};
use crate::error::CoreError;
use crate::manager::SessionManager;

/// What was done, for the response and the audit log.
#[derive(Debug)]
pub struct Handled {
    pub outcome: WebhookOutcome,
    pub task_id: Option<SessionId>,
    pub note: String,
}

impl Handled {
    fn ignored(note: impl Into<String>) -> Self {
        Self {
            outcome: WebhookOutcome::Ignored,
            task_id: None,
            note: note.into(),
        }
    }
}

impl SessionManager {
    /// What a verified, first-seen delivery does. `base_url` is where
    /// agentd is reached from outside, for the link in the reply. An error
    /// that is not the caller's (`Unavailable`, …) means "ours, try again":
    /// the caller forgets the delivery so GitHub's redelivery is handled.
    pub async fn github_delivery(
        &self,
        config: &Arc<GitHubWebhooks>,
        event: &WebhookEvent,
        base_url: &str,
    ) -> Result<Handled, CoreError> {
        handle(self, config, event, base_url).await
    }
}

async fn handle(
    manager: &SessionManager,
    config: &Arc<GitHubWebhooks>,
    event: &WebhookEvent,
    base_url: &str,
) -> Result<Handled, CoreError> {
    if let WebhookEvent::Ping(ping) = event {
        return Ok(Handled {
            outcome: WebhookOutcome::Pong,
            task_id: None,
            note: format!("pong: the hook is set up ({})", ping.zen),
        });
    }
    if let Some(trigger) = event.task_trigger(&config.trigger()) {
        return start_task(manager, config, &trigger, base_url).await;
    }
    if let Some(closed) = event.pr_closed() {
        let task = manager
            .pull_request_closed(&closed.repo_full_name, closed.number, closed.merged)
            .await?;
        let Some(task) = task else {
            return Ok(Handled::ignored(format!(
                "no task opened pull request #{} of {}",
                closed.number, closed.repo_full_name
            )));
        };
        if let Some(existing) = manager.services.store.task_reply(task.id).await?
            && existing.reported_at.is_some()
        {
            // The reply already shows the result; show the merge too.
            reply::refresh(config.clone(), existing, task.clone());
        }
        let what = if closed.merged {
            "merged: the task is completed"
        } else {
            "closed without merging: the task is cancelled"
        };
        return Ok(Handled {
            outcome: WebhookOutcome::TaskUpdated,
            task_id: Some(task.id),
            note: format!("pull request #{} was {what}", closed.number),
        });
    }
    Ok(Handled::ignored(match event {
        WebhookEvent::Other { name } => format!("agentd does not act on {name} events"),
        WebhookEvent::Ping(_)
        | WebhookEvent::IssueComment(_)
        | WebhookEvent::Issues(_)
        | WebhookEvent::PullRequest(_) => {
            "nothing to do: no mention of the handle, configured label or closed pull request"
                .to_owned()
        }
    }))
}

async fn start_task(
    manager: &SessionManager,
    config: &Arc<GitHubWebhooks>,
    trigger: &TaskTrigger,
    base_url: &str,
) -> Result<Handled, CoreError> {
    let store = &manager.services.store;
    let owner = store
        .get_user_by_name(&config.owner)
        .await?
        .filter(|u| u.disabled_at.is_none())
        .ok_or_else(|| {
            CoreError::Unavailable(format!(
                "the user webhook tasks run as ({}) does not exist or is disabled",
                config.owner
            ))
        })?;
    let not_a_repo = || {
        CoreError::Invalid(format!(
            "{:?} is not a repository name",
            trigger.repo_full_name
        ))
    };
    let (gh_owner, gh_repo) =
        agentd_github::parse_repo(&trigger.repo_full_name).ok_or_else(not_a_repo)?;
    let clone_url = config
        .clone_url_of(&trigger.repo_full_name)
        .ok_or_else(not_a_repo)?;
    let client = config.client();
    let branch = match trigger.pull_request {
        Some(number) => {
            let Some(client) = &client else {
                return Ok(Handled::ignored(
                    "a comment on a pull request needs a GitHub token (GITHUB_TOKEN) to find its branch",
                ));
            };
            match pull_request_branch(client, &gh_owner, &gh_repo, number, &trigger.repo_full_name)
                .await?
            {
                Ok(branch) => Some(branch),
                Err(refusal) => {
                    tell(client, &gh_owner, &gh_repo, trigger.issue_number, &refusal).await;
                    return Ok(Handled::ignored(refusal));
                }
            }
        }
        None => Some(trigger.default_branch.clone()).filter(|b| !b.trim().is_empty()),
    };
    let request = CreateTaskRequest {
        repo: clone_url,
        branch,
        prompt: prompt(trigger),
        title: None,
        runtime: None,
        model: None,
        permission_mode: Some(config.permission_mode),
        open_pr: Some(true),
        github_repo: Some(format!("{gh_owner}/{gh_repo}")),
        budget: None,
        mcp_servers: None,
    };
    let task = match manager.create_task(request, Some(owner.id)).await {
        Ok(task) => task,
        Err(error) => {
            if let Some(client) = &client {
                // A public comment: never a database's own words.
                let reason = format!("{}.", error.public_message().trim_end_matches('.'));
                tell(client, &gh_owner, &gh_repo, trigger.issue_number, &reason).await;
            }
            return Err(error);
        }
    };
    let pending = TaskReply {
        session_id: task.id,
        repo: format!("{gh_owner}/{gh_repo}"),
        issue_number: trigger.issue_number,
        comment_id: None,
        task_url: format!(
            "{}/api/v1/tasks/{}",
            base_url.trim_end_matches('/'),
            task.id
        ),
        reported_at: None,
        created_at: time::OffsetDateTime::now_utc(),
    };
    store.insert_task_reply(&pending).await?;
    reply::spawn(manager.clone(), config.clone(), pending);
    let source = match trigger.pull_request {
        Some(_) => format!("a comment on pull request #{}", trigger.issue_number),
        None => match &trigger.source {
            agentd_github::TriggerSource::Comment { .. } => {
                format!("a comment on issue #{}", trigger.issue_number)
            }
            agentd_github::TriggerSource::Label { name } => {
                format!("the label {name:?} on issue #{}", trigger.issue_number)
            }
        },
    };
    Ok(Handled {
        outcome: WebhookOutcome::TaskStarted,
        task_id: Some(task.id),
        note: format!(
            "task started on {} for {source} by @{}",
            trigger.repo_full_name, trigger.requested_by
        ),
    })
}

/// The head branch of pull request `number`, or why agentd will not work
/// on it (`Ok(Err(reason))`, told to the commenter).
async fn pull_request_branch(
    client: &GitHubClient,
    owner: &str,
    repo: &str,
    number: u64,
    full_name: &str,
) -> Result<Result<String, String>, CoreError> {
    let pull = client
        .get_pull_request(owner, repo, number)
        .await
        .map_err(|e| {
            CoreError::Unavailable(format!(
                "cannot read pull request #{number} from GitHub: {e}"
            ))
        })?;
    // A fork's branch is not in this repository: the task could neither
    // check it out nor push to it.
    let same_repo = pull
        .head_repo_clone_url
        .as_deref()
        .and_then(agentd_github::parse_repo)
        .is_some_and(|(o, r)| format!("{o}/{r}").eq_ignore_ascii_case(full_name));
    if !same_repo {
        return Ok(Err(format!(
            "pull request #{number} comes from a fork, and agentd works only on branches of {full_name}."
        )));
    }
    Ok(Ok(pull.head_ref))
}

/// Comments once, best effort: the delivery's answer says the same.
async fn tell(client: &GitHubClient, owner: &str, repo: &str, issue: u64, reason: &str) {
    if let Err(e) = client
        .create_issue_comment(owner, repo, issue, &comment::refused(reason))
        .await
    {
        tracing::warn!(error = %e, "cannot reply on GitHub");
    }
}

/// The request, and where it came from: the agent sees the issue it is
/// working on, not only the words after the mention.
fn prompt(trigger: &TaskTrigger) -> String {
    let kind = if trigger.pull_request.is_some() {
        "pull request"
    } else {
        "issue"
    };
    let mut out = trigger.prompt.trim().to_owned();
    out.push_str(&format!(
        "\n\n---\nRequested by @{} on GitHub, {kind} {}#{}: {}",
        trigger.requested_by,
        trigger.repo_full_name,
        trigger.issue_number,
        trigger.issue_title.trim()
    ));
    let body = trigger.issue_body.trim();
    if !body.is_empty() && !trigger.prompt.contains(body) {
        out.push_str("\n\n");
        out.push_str(body);
    }
    out
}

#[cfg(test)]
mod tests {
    use agentd_github::TriggerSource;
    use pretty_assertions::assert_eq;

    use super::*;

    fn trigger(prompt: &str, pull_request: Option<u64>) -> TaskTrigger {
        TaskTrigger {
            repo_full_name: "octo/demo".into(),
            clone_url: String::new(),
            default_branch: "main".into(),
            issue_number: 4,
            pull_request,
            issue_title: "Typo in README".into(),
            issue_body: "It says teh.".into(),
            prompt: prompt.into(),
            requested_by: "mona".into(),
            source: TriggerSource::Comment {
                id: 1,
                html_url: String::new(),
            },
        }
    }

    #[test]
    fn the_prompt_carries_the_request_and_its_issue() {
        assert_eq!(
            prompt(&trigger("fix it please", None)),
            "fix it please\n\n---\nRequested by @mona on GitHub, issue octo/demo#4: Typo in README\n\nIt says teh."
        );
        // A label's prompt is the issue itself: its body is not repeated.
        assert_eq!(
            prompt(&trigger("Typo in README\n\nIt says teh.", Some(4))),
            "Typo in README\n\nIt says teh.\n\n---\nRequested by @mona on GitHub, pull request octo/demo#4: Typo in README"
        );
    }
}
