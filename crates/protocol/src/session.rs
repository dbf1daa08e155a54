//! Sessions: their status, runtime, permission mode and the API view.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::{SessionId, Usage};

/// Where a session's status stands. `idle` means the last turn ended and the
/// session waits for a message; the others are terminal or transient states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Queued,
    Running,
    BlockedOnApproval,
    Idle,
    Completed,
    Failed,
    Cancelled,
    Interrupted,
    Paused,
}

impl SessionStatus {
    pub const ALL: [SessionStatus; 9] = [
        Self::Queued,
        Self::Running,
        Self::BlockedOnApproval,
        Self::Idle,
        Self::Completed,
        Self::Failed,
        Self::Cancelled,
        Self::Interrupted,
        Self::Paused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::BlockedOnApproval => "blocked_on_approval",
            Self::Idle => "idle",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
            Self::Paused => "paused",
        }
    }

    /// A turn is in flight (or about to be): a crash leaves these `interrupted`.
    pub fn is_active(self) -> bool {
        match self {
            Self::Queued | Self::Running | Self::BlockedOnApproval => true,
            Self::Idle
            | Self::Completed
            | Self::Failed
            | Self::Cancelled
            | Self::Interrupted
            | Self::Paused => false,
        }
    }
}

impl fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SessionStatus {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownVariant(s.to_owned()))
    }
}

/// A string that names no variant of the enum it was parsed as.
#[derive(Debug, thiserror::Error)]
#[error("unknown value {0:?}")]
pub struct UnknownVariant(pub String);

/// Which engine drives the agent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    /// agentd's own turn loop over the model API.
    #[default]
    Builtin,
    /// The Claude Code CLI in stream-json mode.
    ClaudeCode,
}

impl Runtime {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Builtin => "builtin",
            Self::ClaudeCode => "claude-code",
        }
    }
}

impl FromStr for Runtime {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "builtin" => Ok(Self::Builtin),
            "claude-code" => Ok(Self::ClaudeCode),
            other => Err(UnknownVariant(other.to_owned())),
        }
    }
}

/// How tool calls are approved (Claude Code's modes plus `unattended`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PermissionMode {
    #[default]
    Default,
    AcceptEdits,
    Plan,
    BypassPermissions,
    Unattended,
}

impl PermissionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::AcceptEdits => "acceptEdits",
            Self::Plan => "plan",
            Self::BypassPermissions => "bypassPermissions",
            Self::Unattended => "unattended",
        }
    }
}

impl FromStr for PermissionMode {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Self::Default,
            Self::AcceptEdits,
            Self::Plan,
            Self::BypassPermissions,
            Self::Unattended,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
        .ok_or_else(|| UnknownVariant(s.to_owned()))
    }
}

/// Where the agent works.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum WorkspaceSpec {
    /// An existing directory on the server (absolute path).
    Path { path: String },
    /// A git repository: cloned once into a cache, a worktree per session.
    Git { git: GitSource },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GitSource {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
}

/// Why a turn ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TurnStopReason {
    /// The model ended its turn.
    EndTurn,
    /// The model hit `max_tokens` on its last sample.
    MaxTokens,
    /// The turn hit the configured limit on model requests.
    MaxTurns,
    /// The model refused.
    Refusal,
    /// A person cancelled it.
    Cancelled,
    /// The server stopped (crash or shutdown) while it ran.
    Interrupted,
    /// An error ended it (see the `error` event before it).
    Error,
}

/// A session as the API returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    pub id: SessionId,
    pub title: String,
    pub status: SessionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub runtime: Runtime,
    pub model: String,
    pub permission_mode: PermissionMode,
    pub workspace: WorkspaceSpec,
    /// The directory the agent works in.
    pub workspace_path: String,
    /// The session's own git branch, when the workspace is a repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The pull request a task opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_url: Option<String>,
    /// Turns started so far.
    pub turns: u32,
    /// Running totals over all turns.
    pub usage: Usage,
    /// The sequence number of the newest event.
    pub last_seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_wire_names() {
        for s in SessionStatus::ALL {
            let json = serde_json::to_value(s).unwrap();
            assert_eq!(json, s.as_str());
            assert_eq!(s.as_str().parse::<SessionStatus>().unwrap(), s);
        }
        assert!("bogus".parse::<SessionStatus>().is_err());
    }

    #[test]
    fn workspace_spec_accepts_both_shapes() {
        let p: WorkspaceSpec = serde_json::from_str(r#"{"path":"/tmp/x"}"#).unwrap();
        assert_eq!(
            p,
            WorkspaceSpec::Path {
                path: "/tmp/x".into()
            }
        );
        let g: WorkspaceSpec =
            serde_json::from_str(r#"{"git":{"url":"file:///r","branch":"main"}}"#).unwrap();
        assert!(matches!(g, WorkspaceSpec::Git { .. }));
    }

    #[test]
    fn modes_and_runtimes_use_claude_code_spelling() {
        assert_eq!(
            serde_json::to_value(Runtime::ClaudeCode).unwrap(),
            "claude-code"
        );
        assert_eq!(
            serde_json::to_value(PermissionMode::BypassPermissions).unwrap(),
            "bypassPermissions"
        );
        assert_eq!(
            "acceptEdits".parse::<PermissionMode>().unwrap(),
            PermissionMode::AcceptEdits
        );
    }
}
