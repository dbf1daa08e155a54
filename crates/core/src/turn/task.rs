//! The end of a task's turn: when it went well, the work is committed,
//! pushed and opened as a pull request, and `task.result` says where it is.

use agentd_protocol::event::{FileStat, TaskResult};
use agentd_protocol::{
    CredentialProvider, EventData, PullRequestState, SessionStatus, TurnStopReason,
};
use agentd_workspace::{PushTarget, WorkspaceKind};

use crate::engine_state::{EngineState, TaskState};
use crate::turn::{Turn, TurnEnd};

/// After a task's turn: finish the work and say where it went. A turn that
/// failed, was cancelled or had tool calls denied is not a success.
pub(crate) async fn finish(turn: &mut Turn, end: &mut TurnEnd) {
    let Some(mut task) = EngineState::of(&turn.record).task else {
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
    EngineState::update(&mut turn.record, |state| state.task = Some(task));
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

/// Commit, push and open the pull request, filling `result`; the number of
/// the pull request when one is open for the work.
async fn deliver(turn: &Turn, task: &TaskState, result: &mut TaskResult) -> Option<u64> {
    let prepared = EngineState::of(&turn.record).workspace?;
    if matches!(prepared.kind, WorkspaceKind::Plain) {
        return None;
    }
    let kit = &turn.kit;
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
    let own_token = turn
        .host
        .owner_secret(&turn.record, CredentialProvider::Github)
        .await;
    let finished = match kit
        .workspaces
        .finish_as(
            &prepared,
            &message,
            push,
            own_token.as_ref().map(agentd_store::Secret::expose),
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
    let (api_url, token) = match (&own_token, &kit.github) {
        (Some(own), _) => (kit.github_api_url.as_str(), own.expose()),
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
            let repo = format!("{owner}/{name}");
            turn.host.link_pull_request(&repo, pr.number).await;
            Some(pr.number)
        }
        Err(e) => {
            result.error = Some(format!("could not open the pull request: {e}"));
            None
        }
    }
}
