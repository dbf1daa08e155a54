//! What the engine keeps about a session beyond its API fields: its
//! workspace, its own settings, its task, the Claude session it continues,
//! the rules "accept for session" added, and whether its worktree was
//! swept. Stored as JSON in the session row (`runtime_state`); this module
//! is the only one that reads or writes that column.
//!
//! Every field has a serde default, so rows written by older versions (with
//! fewer keys) load; keys this version does not know (a newer version
//! wrote them) are kept as they were, so a downgrade loses nothing.

use agentd_protocol::PullRequestState;
use agentd_protocol::event::TaskResult;
use agentd_store::SessionRecord;
use agentd_workspace::Prepared;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct EngineState {
    /// The workspace prepared at creation (none for sessions made before
    /// workspaces were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) workspace: Option<Prepared>,
    /// The create request's `settings` document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) settings: Option<StoredSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) task: Option<TaskState>,
    /// The Claude Code session a claude-code session continues with
    /// `--resume` after a restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) claude_session_id: Option<String>,
    /// Allow rules added by "accept for session" answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) session_rules: Vec<String>,
    /// The workspace cleanup removed this session's worktree.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) workspace_removed: bool,
    /// Keys of a newer version, written back untouched.
    #[serde(flatten)]
    pub(crate) newer: serde_json::Map<String, serde_json::Value>,
}

/// A session's settings document: sealed under the master key when the
/// server has one (hook headers and commands can hold secrets).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StoredSettings {
    Sealed(String),
    /// A Claude Code settings document, as the caller gave it.
    Plain(serde_json::Value),
}

/// A task's own state: what it was asked, and what became of it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct TaskState {
    pub(crate) repo: String,
    pub(crate) base_branch: Option<String>,
    pub(crate) open_pr: bool,
    pub(crate) github_repo: Option<String>,
    pub(crate) result: Option<TaskResult>,
    /// The pull request the task opened, and where it stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pr_number: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pr_state: Option<PullRequestState>,
}

impl EngineState {
    /// The state stored with `record`; an unreadable one (never written by
    /// agentd) counts as empty, with a warning.
    pub(crate) fn of(record: &SessionRecord) -> Self {
        Self::read(record).unwrap_or_default()
    }

    fn read(record: &SessionRecord) -> Option<Self> {
        let Some(value) = &record.runtime_state else {
            return Some(Self::default());
        };
        match Self::deserialize(value) {
            Ok(state) => Some(state),
            Err(e) => {
                tracing::warn!(id = %record.id, error = %e, "the session's engine state is unreadable; ignoring it");
                None
            }
        }
    }

    /// Writes this state into `record` (saved with it).
    pub(crate) fn put(&self, record: &mut SessionRecord) {
        match serde_json::to_value(self) {
            Ok(value) => record.runtime_state = Some(value),
            // Only non-string map keys fail, and there are none.
            Err(e) => tracing::error!(id = %record.id, error = %e, "cannot encode engine state"),
        }
    }

    /// Changes the state stored with `record`. An unreadable state is left
    /// as it is (logged), never replaced by a change to an empty one.
    pub(crate) fn update(record: &mut SessionRecord, change: impl FnOnce(&mut Self)) {
        let Some(mut state) = Self::read(record) else {
            tracing::error!(id = %record.id, "not changing an unreadable engine state");
            return;
        };
        change(&mut state);
        state.put(record);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use agentd_protocol::{SessionId, SessionStatus, Usage, WorkspaceSpec};
    use serde_json::json;

    fn record(state: serde_json::Value) -> SessionRecord {
        SessionRecord {
            id: SessionId::new(),
            owner_id: None,
            title: "t".into(),
            status: SessionStatus::Idle,
            status_reason: None,
            runtime: Default::default(),
            model: "m".into(),
            permission_mode: Default::default(),
            workspace: WorkspaceSpec::Path { path: "/w".into() },
            workspace_path: "/w".into(),
            max_turns: None,
            turns: 0,
            usage: Usage::default(),
            last_seq: 0,
            runtime_state: Some(state),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    /// Rows as the engine wrote them before the state was typed (one JSON
    /// object of loose keys) load with every key.
    #[test]
    fn rows_written_by_the_untyped_engine_load() {
        let old = json!({
            "workspace": {
                "path": "/data/workspaces/s1",
                "kind": {"type": "mirror", "url": "file:///srv/r.git", "mirror": "/data/repos/r.git"},
                "branch": "agentd/s1",
                "base": "0123456789abcdef0123456789abcdef01234567",
                "remote_url": "file:///srv/r.git"
            },
            "settings": {"sealed": "v1:abc"},
            "task": {
                "repo": "file:///srv/r.git",
                "base_branch": null,
                "open_pr": true,
                "github_repo": "octo/r",
                "result": {"summary": "done", "files_changed": [], "cost_usd": 0.25, "pushed": true,
                           "pr_url": "https://github.com/octo/r/pull/7"},
                "pr_number": 7,
                "pr_state": "open"
            },
            "claude_session_id": "2f1c-claude",
            "session_rules": ["Bash(npm test)"],
            "workspace_removed": true
        });
        let state = EngineState::of(&record(old));
        let workspace = state.workspace.expect("workspace");
        assert_eq!(workspace.branch.as_deref(), Some("agentd/s1"));
        assert!(matches!(state.settings, Some(StoredSettings::Sealed(s)) if s == "v1:abc"));
        let task = state.task.expect("task");
        assert_eq!(task.pr_number, Some(7));
        assert_eq!(task.pr_state, Some(PullRequestState::Open));
        assert_eq!(
            task.result.and_then(|r| r.pr_url).as_deref(),
            Some("https://github.com/octo/r/pull/7")
        );
        assert_eq!(state.claude_session_id.as_deref(), Some("2f1c-claude"));
        assert_eq!(state.session_rules, vec!["Bash(npm test)".to_owned()]);
        assert!(state.workspace_removed);
    }

    #[test]
    fn plain_settings_and_missing_keys_load() {
        let state = EngineState::of(&record(json!({
            "settings": {"plain": {"permissions": {"allow": ["Bash(ls)"]}}}
        })));
        assert!(
            matches!(&state.settings, Some(StoredSettings::Plain(doc)) if doc["permissions"]["allow"][0] == "Bash(ls)")
        );
        assert!(state.workspace.is_none() && state.task.is_none());
        assert!(state.session_rules.is_empty() && !state.workspace_removed);
    }

    #[test]
    fn a_state_survives_a_write_and_a_read() {
        let mut row = record(json!({}));
        EngineState::update(&mut row, |s| {
            s.claude_session_id = Some("c1".into());
            s.session_rules.push("Edit(src/x.rs)".into());
        });
        let again = EngineState::of(&row);
        assert_eq!(again.claude_session_id.as_deref(), Some("c1"));
        assert_eq!(again.session_rules, vec!["Edit(src/x.rs)".to_owned()]);
        // Empty parts are not written at all.
        assert_eq!(
            row.runtime_state.unwrap(),
            json!({"claude_session_id": "c1", "session_rules": ["Edit(src/x.rs)"]})
        );
    }

    #[test]
    fn garbage_is_an_empty_state_and_is_never_overwritten() {
        let mut row = record(json!({"workspace": "not a workspace", "task": 7}));
        let state = EngineState::of(&row);
        assert!(state.workspace.is_none());
        EngineState::update(&mut row, |s| s.workspace_removed = true);
        assert_eq!(
            row.runtime_state.unwrap(),
            json!({"workspace": "not a workspace", "task": 7})
        );
    }

    #[test]
    fn keys_of_a_newer_version_survive_a_write() {
        let mut row = record(json!({"claude_session_id": "c1", "runner": {"worker": "w7"}}));
        EngineState::update(&mut row, |s| s.session_rules.push("Bash(ls)".into()));
        assert_eq!(
            row.runtime_state.unwrap(),
            json!({"claude_session_id": "c1", "session_rules": ["Bash(ls)"], "runner": {"worker": "w7"}})
        );
    }
}
