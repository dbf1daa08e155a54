//! Request and response bodies of the HTTP and WebSocket API.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::event::{ApprovalDecision, InputKind, PermissionRequested};
use crate::{
    EventEnvelope, PermissionMode, Runtime, SessionId, SessionStatus, SessionView, WorkspaceSpec,
};

/// `POST /api/v1/sessions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionRequest {
    /// The first message; the session starts working on it at once.
    pub prompt: String,
    pub workspace: WorkspaceSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_mode: Option<PermissionMode>,
    /// A short title; defaults to the first line of the prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Overrides the server's limit on model requests per turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u32>,
    /// This session's own budget, instead of the owner's per-session limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<crate::usage::SessionBudget>,
    /// A Claude Code settings document (`hooks`, `permissions`) for this
    /// session only, applied after the server's, the owner's and the
    /// repository's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Value>,
    /// MCP servers whose tools the agent gets (as `mcp__<server>__<tool>`):
    /// names of the caller's saved servers and/or inline entries in the
    /// `.mcp.json` style (`{"name", "command", "args", "env"}` or
    /// `{"name", "type": "http", "url", "headers"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_servers: Option<Vec<crate::SessionMcpServer>>,
}

/// `PUT /api/v1/me/settings`: the caller's own Claude Code settings document
/// (`hooks`, `permissions`), applied to all their sessions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutUserSettingsRequest {
    #[schema(value_type = Object)]
    pub settings: Value,
}

/// `GET /api/v1/me/settings`. HTTP hook header values are write-only: they
/// come back as `"***"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UserSettingsView {
    #[schema(value_type = Object)]
    pub settings: Value,
    /// Whether the document is encrypted at rest (the server has a master key).
    pub encrypted: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub updated_at: Option<time::OffsetDateTime>,
}

/// `POST /api/v1/sessions/{id}/resume`: optionally raise the session's own
/// budget first (a paused-by-budget session resumes only once it is within
/// every budget again).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResumeRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<crate::usage::SessionBudget>,
}

/// `POST /api/v1/sessions/{id}/messages` and `/steer`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessageRequest {
    pub text: String,
}

/// What happened to a message or steer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InputAccepted {
    pub input_id: String,
    pub kind: InputKind,
    /// True when a turn was running and the input waits for it.
    pub queued: bool,
    pub session: SessionView,
}

/// `POST /api/v1/tasks`: a session that runs to completion without a person
/// and ends with a result (answer, branch, pull request).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTaskRequest {
    /// A git URL (https, ssh, file) or an absolute path to a repository.
    pub repo: String,
    /// The branch to start from (default: the repository's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    pub prompt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Default `unattended`: whatever would need a person is denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_mode: Option<PermissionMode>,
    /// Open a pull request with the work (default true; needs a GitHub
    /// token on the server and a GitHub repository).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_pr: Option<bool>,
    /// The GitHub repository (`owner/name`) for the pull request, when it
    /// cannot be read from `repo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_repo: Option<String>,
    /// The task's own budget (see `CreateSessionRequest.budget`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<crate::usage::SessionBudget>,
    /// MCP servers for the task's agent (see `CreateSessionRequest.mcp_servers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_servers: Option<Vec<crate::SessionMcpServer>>,
}

/// A task: its session, and its result once it has one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskView {
    pub id: SessionId,
    pub repo: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_branch: Option<String>,
    pub status: SessionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<crate::event::TaskResult>,
    /// The state of the pull request the task opened, once it has one:
    /// `open`, then `merged` or `closed` when GitHub says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_state: Option<PullRequestState>,
    pub session: SessionView,
}

/// Where a task's pull request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PullRequestState {
    Open,
    /// Merged: the task is `completed`.
    Merged,
    /// Closed without merging: the task is `cancelled`.
    Closed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskList {
    pub tasks: Vec<TaskView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<SessionId>,
}

/// `POST /api/v1/sessions/{id}/rollback`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    /// Restore the workspace as this turn left it.
    pub turn: u32,
}

/// `GET /api/v1/sessions/{id}/checkpoints`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckpointList {
    pub checkpoints: Vec<crate::event::Checkpoint>,
}

/// `POST /api/v1/sessions/{id}/approvals/{request_id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerApprovalRequest {
    pub decision: ApprovalDecision,
    /// For `decline`: what the model is told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `GET /api/v1/sessions/{id}/approvals`: requests waiting for an answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PendingApprovals {
    pub approvals: Vec<PermissionRequested>,
}

/// `GET /api/v1/sessions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
    /// Pass as `before` to get the next (older) page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<SessionId>,
}

/// One frame of `GET /api/v1/sessions/{id}/events` as `text/event-stream`,
/// the way an SSE client parses it (the OpenAPI document describes each
/// event of the stream with this).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SseFrame {
    /// The event's `seq` (send it back as `Last-Event-ID` to resume).
    pub id: String,
    /// The event's type (`turn.started`, …).
    pub event: String,
    /// The `EventEnvelope`, as JSON text.
    pub data: String,
}

/// `GET /api/v1/sessions/{id}/events?format=json` (a page of the log).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<EventEnvelope>,
}

/// Messages a WebSocket client sends on `/api/v1/ws`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WsClientMessage {
    /// Start receiving a session's events with `seq > after` (default 0).
    Subscribe {
        session_id: SessionId,
        #[serde(default)]
        after: u64,
    },
    Unsubscribe {
        session_id: SessionId,
    },
    /// Answer a `permission.requested` of a session the caller owns.
    Approve {
        session_id: SessionId,
        request_id: String,
        decision: ApprovalDecision,
        #[serde(default)]
        message: Option<String>,
    },
    Ping,
}

/// Messages the server sends on `/api/v1/ws`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WsServerMessage {
    Subscribed {
        session_id: SessionId,
        after: u64,
    },
    Unsubscribed {
        session_id: SessionId,
        reason: String,
    },
    Event {
        event: EventEnvelope,
    },
    /// The subscription was dropped because the client read too slowly;
    /// subscribe again with `after = last_seq` to resume from the log.
    Lagged {
        session_id: SessionId,
        last_seq: u64,
    },
    Error {
        code: crate::ErrorCode,
        message: String,
    },
    /// An `approve` was recorded.
    Approved {
        session_id: SessionId,
        request_id: String,
    },
    Pong,
}

/// `GET /readyz`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Readiness {
    pub ready: bool,
    pub database: String,
}

/// A status filter for listing sessions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionFilter {
    pub status: Option<SessionStatus>,
}

/// Markdown to render as HTML (`POST /api/v1/render/markdown`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenderMarkdownRequest {
    pub text: String,
}

/// Sanitized HTML, safe to insert into a page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RenderedHtml {
    pub html: String,
}

/// Two versions of a file to diff (`POST /api/v1/render/diff`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenderDiffRequest {
    /// Shown in the diff's header.
    pub path: String,
    #[serde(default)]
    pub old: String,
    pub new: String,
}

/// A unified diff (`---`/`+++` header, `@@` hunks, ` `/`-`/`+` lines).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RenderedDiff {
    pub diff: String,
}
