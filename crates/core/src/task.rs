//! Tasks: the fire-and-forget face of a session. A task works on a
//! repository unattended; when its turn ends well, the work is committed,
//! pushed and opened as a pull request, and `task.result` says where it is.

use agentd_protocol::event::{FileStat, TaskResult};
use agentd_protocol::session::GitSource;
use agentd_protocol::{
    CreateSessionRequest, CreateTaskRequest, CredentialProvider, EventData, PermissionMode,
    PullRequestState, SessionId, SessionStatus, TaskList, TaskView, TurnStopReason, WorkspaceSpec,
};
use agentd_store::SessionRecord;
use agentd_workspace::{PushTarget, WorkspaceKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::access::Reach;
use crate::error::CoreError;
use crate::manager::SessionManager;
use crate::turn::{Turn, TurnEnd};

/// Where a task's own state lives in `runtime_state`.
pub(crate) const KEY: &str = "task";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct TaskState {
    repo: String,
    base_branch: Option<String>,
    open_pr: bool,
    github_repo: Option<String>,
    result: Option<TaskResult>,
    /// The pull request the task opened, and where it stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pr_number: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pr_state: Option<PullRequestState>,
}

pub(crate) fn state(record: &SessionRecord) -> Option<TaskState> {
    serde_json::from_value(record.runtime_state.as_ref()?.get(KEY)?.clone()).ok()
}

fn view(record: &SessionRecord) -> Option<TaskView> {
    let task = state(record)?;
    Some(TaskView {
        id: record.id,
        repo: task.repo,
        base_branch: task.base_branch,
        status: record.status,
        result: task.result,
        pr_state: task.pr_state,
        session: crate::workspace::view(record),
    })
}

/// The pull request URL a task opened, for the session view.
pub(crate) fn pr_url(record: &SessionRecord) -> Option<String> {
    state(record)?.result?.pr_url
}

impl SessionManager {
    pub async fn create_task(
        &self,
        req: CreateTaskRequest,
        owner_id: Option<String>,
    ) -> Result<TaskView, CoreError> {
        if req.repo.trim().is_empty() {
            return Err(CoreError::Invalid("repo must not be empty".into()));
        }
        let workspace = if req.repo.starts_with('/') && req.branch.is_none() {
            WorkspaceSpec::Path {
                path: req.repo.clone(),
            }
        } else {
            WorkspaceSpec::Git {
                git: GitSource {
                    url: req.repo.clone(),
                    branch: req.branch.clone(),
                },
            }
        };
        let task = TaskState {
            repo: req.repo.clone(),
            base_branch: req.branch.clone(),
            open_pr: req.open_pr.unwrap_or(true),
            github_repo: req.github_repo.clone(),
            result: None,
            pr_number: None,
            pr_state: None,
        };
        let session = CreateSessionRequest {
            prompt: req.prompt,
            workspace,
            runtime: req.runtime,
            model: req.model,
            permission_mode: Some(req.permission_mode.unwrap_or(PermissionMode::Unattended)),
            title: req.title,
            max_turns: None,
            budget: req.budget,
            settings: None,
            mcp_servers: req.mcp_servers,
        };
        let state = serde_json::to_value(&task).map_err(|e| CoreError::Invalid(e.to_string()))?;
        let created = self.create(session, owner_id, Some((KEY, state))).await?;
        self.task_within(created.id, Reach::All).await
    }

    pub async fn task_within(
        &self,
        id: SessionId,
        reach: Reach<'_>,
    ) -> Result<TaskView, CoreError> {
        self.session_within(id, reach).await?;
        view(&self.record(id).await?).ok_or(CoreError::NotFound)
    }

    /// Tasks `reach` covers, newest first (a page of sessions, filtered).
    pub async fn list_tasks_within(
        &self,
        reach: Reach<'_>,
        status: Option<SessionStatus>,
        before: Option<SessionId>,
        limit: u32,
    ) -> Result<TaskList, CoreError> {
        let (records, next_before) = self.page_within(reach, status, before, limit).await?;
        Ok(TaskList {
            tasks: records.iter().filter_map(view).collect(),
            next_before,
        })
    }
}

/// After a task's turn: finish the work and say where it went. A turn that
/// failed, was cancelled or had tool calls denied is not a success.
pub(crate) async fn finish(turn: &mut Turn<'_>, end: &mut TurnEnd) {
    let Some(mut task) = state(&turn.record) else {
        return;
    };
    let succeeded = end.stop == TurnStopReason::EndTurn && turn.denied == 0;
    let mut result = TaskResult {
        summary: turn.final_text.clone().unwrap_or_default(),
        cost_usd: turn.record.usage.cost_usd,
        ..TaskResult::default()
    };
    if succeeded && let Some(number) = deliver(turn, &task, &mut result).await {
        task.pr_number = Some(number);
        task.pr_state = Some(PullRequestState::Open);
    }
    turn.emit(EventData::TaskResult(result.clone())).await;
    let error = result.error.clone();
    task.result = Some(result);
    put_state(&mut turn.record, &task);
    match (succeeded, error) {
        (true, None) => {
            end.status = SessionStatus::Completed;
        }
        (true, Some(error)) => {
            end.status = SessionStatus::Failed;
            end.reason = Some(error);
        }
        (false, _) if end.status == SessionStatus::Idle => {
            end.status = SessionStatus::Failed;
            end.reason = Some(
                end.reason
                    .clone()
                    .unwrap_or_else(|| "the task did not finish".into()),
            );
        }
        (false, _) => {}
    }
}

/// Writes the task's state back into the session's engine state.
pub(crate) fn put_state(record: &mut SessionRecord, task: &TaskState) {
    if let Ok(value) = serde_json::to_value(task) {
        let mut state = match record.runtime_state.take() {
            Some(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        state.insert(KEY.to_owned(), value);
        record.runtime_state = Some(Value::Object(state));
    }
}

/// Commit, push and open the pull request, filling `result`; the number of
/// the pull request when one is open for the work.
async fn deliver(turn: &Turn<'_>, task: &TaskState, result: &mut TaskResult) -> Option<u64> {
    let prepared = crate::workspace::prepared(&turn.record)?;
    if matches!(prepared.kind, WorkspaceKind::Plain) {
        return None;
    }
    let inner = &turn.manager.inner;
    let message = format!(
        "{}\n\nDone by agentd, session {}.",
        turn.record.title, turn.id
    );
    let push = if prepared.remote_url.is_some() {
        PushTarget::Origin
    } else {
        PushTarget::None
    };
    // The owner's own GitHub token, when stored, pushes and opens the PR.
    let own_token =
        crate::credentials::owner_secret(inner, &turn.record, CredentialProvider::Github).await;
    let finished = match inner
        .workspaces
        .finish_as(
            &prepared,
            &message,
            push,
            own_token.as_ref().map(|t| t.expose()),
        )
        .await
    {
        Ok(finished) => finished,
        Err(e) => {
            result.error = Some(format!("could not commit and push the work: {e}"));
            return None;
        }
    };
    result.branch = Some(finished.branch.clone());
    result.commit = finished.commit.clone();
    result.pushed = finished.pushed;
    result.files_changed = finished
        .files_changed
        .iter()
        .map(|f| FileStat {
            path: f.path.clone(),
            added: f.added,
            removed: f.removed,
        })
        .collect();
    if !task.open_pr || !finished.pushed || finished.no_changes {
        return None;
    }
    let (api_url, token) = match (&own_token, &inner.config.github) {
        (Some(own), _) => (inner.config.github_api_url.as_str(), own.expose()),
        (None, Some(server)) => (server.api_url.as_str(), server.token.as_str()),
        (None, None) => return None,
    };
    let repo = task.github_repo.as_deref().unwrap_or(&task.repo);
    let Some((owner, name)) = agentd_github::parse_repo(repo) else {
        result.error = Some(format!(
            "{repo} is not a GitHub repository; no pull request was opened"
        ));
        return None;
    };
    let client = match agentd_github::GitHubClient::with_base_url(api_url, token) {
        Ok(client) => client,
        Err(e) => {
            result.error = Some(format!("GitHub is not usable: {e}"));
            return None;
        }
    };
    let pull = agentd_github::NewPullRequest {
        title: turn.record.title.clone(),
        head: finished.branch.clone(),
        base: task
            .base_branch
            .clone()
            .unwrap_or_else(|| "main".to_owned()),
        body: agentd_workspace::pr_body(
            &result.summary,
            &finished.files_changed,
            result.cost_usd,
            None,
        ),
        draft: false,
    };
    match client.create_pull_request(&owner, &name, &pull).await {
        Ok(pr) => {
            result.pr_url = Some(pr.html_url);
            // So a `pull_request` closed webhook finds this task.
            let repo = format!("{owner}/{name}");
            if let Err(e) = inner
                .store
                .link_task_pull_request(&repo, pr.number, turn.id)
                .await
            {
                tracing::warn!(id = %turn.id, error = %e, "cannot remember the task's pull request");
            }
            Some(pr.number)
        }
        Err(e) => {
            result.error = Some(format!("could not open the pull request: {e}"));
            None
        }
    }
}
