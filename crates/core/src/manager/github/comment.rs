//! The text of agentd's reply on an issue or pull request: "started" with
//! a link to the task, then the result. Pure, so the wording is tested here.
//!
//! The agent's summary is quoted (`> `): quoted lines are never read as a
//! mention, so a summary that says "@agentd" cannot start another task.

use std::fmt::Write as _;

use agentd_protocol::{PullRequestState, SessionStatus, TaskView};

/// Whether the task has ended, so its reply can show the result.
pub(crate) fn is_final(status: SessionStatus) -> bool {
    match status {
        SessionStatus::Completed
        | SessionStatus::Failed
        | SessionStatus::Cancelled
        | SessionStatus::Interrupted => true,
        SessionStatus::Queued
        | SessionStatus::Running
        | SessionStatus::BlockedOnApproval
        | SessionStatus::Idle
        | SessionStatus::Paused => false,
    }
}

fn task_link(task: &TaskView, url: &str) -> String {
    format!("[`{}`](<{}>)", task.id, url.replace('>', "%3E"))
}

pub(crate) fn started(task: &TaskView, url: &str) -> String {
    format!(
        "🤖 **agentd** is working on this: task {}.\n\n\
         This comment will show the result when the task ends.\n",
        task_link(task, url)
    )
}

/// Why a comment could not start a task.
pub(crate) fn refused(reason: &str) -> String {
    format!("🤖 **agentd** cannot start a task for this: {reason}\n")
}

pub(crate) fn finished(task: &TaskView, url: &str) -> String {
    let link = task_link(task, url);
    let reason = task
        .result
        .as_ref()
        .and_then(|r| r.error.clone())
        .or_else(|| task.session.status_reason.clone());
    let mut out = match task.status {
        SessionStatus::Completed => format!("✅ **agentd** finished task {link}."),
        SessionStatus::Cancelled => format!("⏹️ **agentd** task {link} was cancelled."),
        SessionStatus::Interrupted => format!("⚠️ **agentd** task {link} was interrupted."),
        SessionStatus::Failed
        | SessionStatus::Queued
        | SessionStatus::Running
        | SessionStatus::BlockedOnApproval
        | SessionStatus::Idle
        | SessionStatus::Paused => format!("❌ **agentd** could not finish task {link}."),
    };
    if task.status != SessionStatus::Completed
        && let Some(reason) = reason.filter(|r| !r.trim().is_empty())
    {
        let _ = write!(out, " Reason: {}.", reason.trim().trim_end_matches('.'));
    }
    out.push('\n');
    if let Some(result) = &task.result {
        let summary = result.summary.trim();
        if !summary.is_empty() {
            out.push('\n');
            for line in summary.lines() {
                let _ = writeln!(out, "> {line}");
            }
        }
        let mut facts = Vec::new();
        if let Some(branch) = &result.branch
            && result.pushed
        {
            facts.push(format!("Branch: `{branch}`"));
        }
        if let Some(pr) = &result.pr_url {
            let state = match task.pr_state {
                Some(PullRequestState::Merged) => " (merged)",
                Some(PullRequestState::Closed) => " (closed without merging)",
                Some(PullRequestState::Open) | None => "",
            };
            facts.push(format!("Pull request: {pr}{state}"));
        }
        if !result.files_changed.is_empty() {
            facts.push(format!("Files changed: {}", result.files_changed.len()));
        }
        if !facts.is_empty() {
            out.push('\n');
            for fact in facts {
                let _ = writeln!(out, "- {fact}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use agentd_protocol::SessionView;
    use agentd_protocol::event::{FileStat, TaskResult};
    use pretty_assertions::assert_eq;

    use super::*;

    fn task(status: SessionStatus, result: Option<TaskResult>) -> TaskView {
        let session: SessionView = serde_json::from_value(serde_json::json!({
            "id": "0190f3a2-7b1c-7d00-8e4f-a1b2c3d4e5f6",
            "title": "t", "status": status, "runtime": "builtin", "model": "m",
            "permission_mode": "unattended", "workspace": {"path": "/w"},
            "workspace_path": "/w", "turns": 1,
            "usage": {"input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0,
                      "cache_write_tokens": 0, "cost_usd": 0.0},
            "last_seq": 3, "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        TaskView {
            id: session.id,
            repo: "https://github.com/o/r.git".into(),
            base_branch: Some("main".into()),
            status,
            result,
            pr_state: None,
            session,
        }
    }

    const URL: &str = "https://agentd.example/api/v1/tasks/x";

    #[test]
    fn a_started_reply_links_the_task() {
        assert_eq!(
            started(&task(SessionStatus::Queued, None), URL),
            "🤖 **agentd** is working on this: task \
             [`0190f3a2-7b1c-7d00-8e4f-a1b2c3d4e5f6`](<https://agentd.example/api/v1/tasks/x>).\n\n\
             This comment will show the result when the task ends.\n"
        );
    }

    #[test]
    fn a_finished_reply_quotes_the_summary_and_lists_where_the_work_went() {
        let mut done = task(
            SessionStatus::Completed,
            Some(TaskResult {
                summary: "Fixed the typo.\n@agentd also do more".into(),
                branch: Some("agentd/abc".into()),
                pushed: true,
                pr_url: Some("https://github.com/o/r/pull/2".into()),
                files_changed: vec![FileStat {
                    path: "README.md".into(),
                    added: 1,
                    removed: 1,
                }],
                ..TaskResult::default()
            }),
        );
        done.pr_state = Some(PullRequestState::Merged);
        let text = finished(&done, URL);
        assert_eq!(
            text,
            "✅ **agentd** finished task \
             [`0190f3a2-7b1c-7d00-8e4f-a1b2c3d4e5f6`](<https://agentd.example/api/v1/tasks/x>).\n\
             \n> Fixed the typo.\n> @agentd also do more\n\
             \n- Branch: `agentd/abc`\n- Pull request: https://github.com/o/r/pull/2 (merged)\n\
             - Files changed: 1\n"
        );
        // The quoted summary never reads as a new request.
        assert_eq!(agentd_github::mention(&text, "@agentd"), None);
    }

    #[test]
    fn a_failure_says_why() {
        let mut failed = task(
            SessionStatus::Failed,
            Some(TaskResult {
                error: Some("could not open the pull request: GitHub is unavailable (502)".into()),
                ..TaskResult::default()
            }),
        );
        let text = finished(&failed, URL);
        assert!(
            text.starts_with("❌ **agentd** could not finish task")
                && text.contains(
                    "Reason: could not open the pull request: GitHub is unavailable (502)."
                ),
            "{text}"
        );
        failed.result = None;
        failed.session.status_reason = Some("1 tool call(s) were denied".into());
        assert!(
            finished(&failed, URL).contains("Reason: 1 tool call(s) were denied."),
            "{}",
            finished(&failed, URL)
        );
        let cancelled = task(SessionStatus::Cancelled, None);
        assert!(finished(&cancelled, URL).starts_with("⏹️ **agentd** task"));
    }

    #[test]
    fn only_ended_tasks_are_final() {
        assert!(is_final(SessionStatus::Completed));
        assert!(is_final(SessionStatus::Interrupted));
        assert!(!is_final(SessionStatus::Running));
        assert!(!is_final(SessionStatus::Idle));
    }
}
