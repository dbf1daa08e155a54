//! The event vocabulary: everything a client sees of a session.
//!
//! Events are appended to the session's durable log (which assigns `seq`,
//! contiguous from 1) before any subscriber sees them.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::{ErrorCode, SessionId, SessionStatus, TurnStopReason, Usage};

/// One event as stored and streamed:
/// `{"seq", "session_id", "ts", "type", "data"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventEnvelope {
    pub seq: u64,
    pub session_id: SessionId,
    #[serde(with = "time::serde::rfc3339")]
    pub ts: OffsetDateTime,
    #[serde(flatten)]
    pub event: EventData,
}

impl EventEnvelope {
    pub fn event_type(&self) -> &'static str {
        self.event.event_type()
    }
}

/// The `type` and `data` of an event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", content = "data")]
pub enum EventData {
    #[serde(rename = "session.status")]
    SessionStatus(StatusChanged),
    #[serde(rename = "turn.started")]
    TurnStarted(TurnStarted),
    #[serde(rename = "turn.completed")]
    TurnCompleted(TurnCompleted),
    #[serde(rename = "input.queued")]
    InputQueued(InputQueued),
    #[serde(rename = "message.started")]
    MessageStarted(MessageStarted),
    #[serde(rename = "message.completed")]
    MessageCompleted(MessageCompleted),
    #[serde(rename = "text.delta")]
    TextDelta(Delta),
    #[serde(rename = "thinking.delta")]
    ThinkingDelta(Delta),
    #[serde(rename = "tool.started")]
    ToolStarted(ToolStarted),
    #[serde(rename = "tool.output")]
    ToolOutput(ToolOutput),
    #[serde(rename = "tool.completed")]
    ToolCompleted(ToolCompleted),
    #[serde(rename = "file.changed")]
    FileChanged(FileChanged),
    #[serde(rename = "usage")]
    Usage(UsageReport),
    #[serde(rename = "permission.requested")]
    PermissionRequested(PermissionRequested),
    #[serde(rename = "permission.resolved")]
    PermissionResolved(PermissionResolved),
    #[serde(rename = "task.result")]
    TaskResult(TaskResult),
    #[serde(rename = "checkpoint.created")]
    CheckpointCreated(Checkpoint),
    #[serde(rename = "checkpoint.restored")]
    CheckpointRestored(Checkpoint),
    #[serde(rename = "budget.exceeded")]
    BudgetExceeded(crate::usage::BudgetExceeded),
    #[serde(rename = "hook.completed")]
    HookCompleted(HookCompleted),
    #[serde(rename = "error")]
    Error(ErrorEvent),
}

impl EventData {
    /// Every event's wire name (`type`), in declaration order: the whole
    /// vocabulary a client can meet (a test keeps it equal to the enum's).
    pub const TYPES: &'static [&'static str] = &[
        "session.status",
        "turn.started",
        "turn.completed",
        "input.queued",
        "message.started",
        "message.completed",
        "text.delta",
        "thinking.delta",
        "tool.started",
        "tool.output",
        "tool.completed",
        "file.changed",
        "usage",
        "permission.requested",
        "permission.resolved",
        "task.result",
        "checkpoint.created",
        "checkpoint.restored",
        "budget.exceeded",
        "hook.completed",
        "error",
    ];

    /// The wire name (`type`) of this event.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::SessionStatus(_) => "session.status",
            Self::TurnStarted(_) => "turn.started",
            Self::TurnCompleted(_) => "turn.completed",
            Self::InputQueued(_) => "input.queued",
            Self::MessageStarted(_) => "message.started",
            Self::MessageCompleted(_) => "message.completed",
            Self::TextDelta(_) => "text.delta",
            Self::ThinkingDelta(_) => "thinking.delta",
            Self::ToolStarted(_) => "tool.started",
            Self::ToolOutput(_) => "tool.output",
            Self::ToolCompleted(_) => "tool.completed",
            Self::FileChanged(_) => "file.changed",
            Self::Usage(_) => "usage",
            Self::PermissionRequested(_) => "permission.requested",
            Self::PermissionResolved(_) => "permission.resolved",
            Self::TaskResult(_) => "task.result",
            Self::CheckpointCreated(_) => "checkpoint.created",
            Self::CheckpointRestored(_) => "checkpoint.restored",
            Self::BudgetExceeded(_) => "budget.exceeded",
            Self::HookCompleted(_) => "hook.completed",
            Self::Error(_) => "error",
        }
    }

    /// The `data` object alone, as stored in the log.
    pub fn data_json(&self) -> Value {
        match serde_json::to_value(self) {
            Ok(Value::Object(mut map)) => map.remove("data").unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }

    /// Rebuild an event from its stored `type` and `data`.
    pub fn from_parts(event_type: &str, data: Value) -> Result<Self, serde_json::Error> {
        serde_json::from_value(serde_json::json!({ "type": event_type, "data": data }))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatusChanged {
    pub status: SessionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TurnStarted {
    pub turn: u32,
    /// The user text that started the turn.
    pub input: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TurnCompleted {
    pub turn: u32,
    pub stop_reason: TurnStopReason,
    /// Tool calls refused during the turn (by rules, a person or an expired
    /// approval); a turn with refusals is never a plain success.
    #[serde(default)]
    pub denied: u32,
    /// Usage of this turn alone.
    pub usage: Usage,
}

/// Whether a person's input starts a new turn or steers the running one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// A follow-up message: runs as the next turn.
    Message,
    /// Injected into the running turn at the next tool boundary.
    Steer,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InputQueued {
    pub input_id: String,
    pub kind: InputKind,
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MessageStarted {
    pub message_id: String,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MessageCompleted {
    pub message_id: String,
    pub role: Role,
    /// Content blocks in the Anthropic Messages shape (text, thinking,
    /// tool_use, tool_result).
    pub content: Vec<Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Delta {
    pub message_id: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ToolStarted {
    pub call_id: String,
    pub tool: String,
    pub input: Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutputStream {
    Stdout,
    Stderr,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ToolOutput {
    pub call_id: String,
    pub stream: OutputStream,
    pub chunk: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ToolCompleted {
    pub call_id: String,
    pub tool: String,
    pub ok: bool,
    /// What the model receives, truncated for the event.
    pub output: String,
    pub duration_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileChangeKind {
    Added,
    Modified,
    Deleted,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FileChanged {
    /// Relative to the workspace root.
    pub path: String,
    pub change: FileChangeKind,
    pub lines_added: u64,
    pub lines_removed: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UsageReport {
    /// This model call.
    #[serde(flatten)]
    pub call: Usage,
    /// The session's running totals including this call.
    pub totals: Usage,
}

/// How a task ended: its answer, and where its work went.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskResult {
    /// The agent's closing message.
    pub summary: String,
    pub files_changed: Vec<FileStat>,
    /// The branch holding the work, when the workspace is a repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Whether the branch was pushed to the repository's remote.
    pub pushed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_url: Option<String>,
    pub cost_usd: f64,
    /// Why the work could not be finished (push or pull request failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FileStat {
    pub path: String,
    pub added: u64,
    pub removed: u64,
}

/// A configured hook ran (Claude Code's hook contract). The same run is in
/// the audit log as `hook.run`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HookCompleted {
    /// `PreToolUse`, `PostToolUse`, `UserPromptSubmit`, `Stop`,
    /// `SessionStart`, `SessionEnd` or `Notification`.
    pub hook_event: String,
    /// `command` or `http`.
    pub kind: String,
    /// The command, or the URL without its query.
    pub target: String,
    /// The tool call a tool hook ran for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// `ok`, `blocked`, `error` or `timeout`.
    pub outcome: String,
    /// A `PreToolUse` hook's `permissionDecision`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// The block reason or the error, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub duration_ms: u64,
}

/// A tool call waits for a person's decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PermissionRequested {
    pub request_id: String,
    /// The tool call it is about.
    pub call_id: String,
    pub tool: String,
    pub input: Value,
    /// Why it needs a person (the rule or mode that asked).
    pub reason: String,
    /// No answer by then means deny.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// What a person (or the clock) decided about a tool call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalDecision {
    /// Run this call.
    Accept,
    /// Run it, and calls matching the same rule for the rest of the session.
    AcceptForSession,
    /// Do not run it; the model is told why.
    Decline,
    /// Do not run it, and stop the turn.
    Cancel,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PermissionResolved {
    pub request_id: String,
    pub call_id: String,
    pub decision: ApprovalDecision,
    /// Who decided: a user id, or `timeout`.
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The workspace as it was at the end of a turn, saved in the repository
/// under `refs/agentd/checkpoints/<session>/<turn>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Checkpoint {
    pub turn: u32,
    pub commit: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorEvent {
    pub code: ErrorCode,
    pub message: String,
    pub retryable: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn envelope_has_the_documented_shape() {
        let id: SessionId = "0190f5a4-7c1e-7000-8000-000000000001".parse().unwrap();
        let env = EventEnvelope {
            seq: 3,
            session_id: id,
            ts: time::macros::datetime!(2026-11-21 10:00:00 UTC),
            event: EventData::TextDelta(Delta {
                message_id: "msg_1".into(),
                text: "hi".into(),
            }),
        };
        let v = serde_json::to_value(&env).unwrap();
        assert_eq!(
            v,
            json!({
                "seq": 3,
                "session_id": "0190f5a4-7c1e-7000-8000-000000000001",
                "ts": "2026-11-21T10:00:00Z",
                "type": "text.delta",
                "data": {"message_id": "msg_1", "text": "hi"}
            })
        );
        let back: EventEnvelope = serde_json::from_value(v).unwrap();
        assert_eq!(back, env);
    }

    #[test]
    fn parts_round_trip_for_storage() {
        let ev = EventData::SessionStatus(StatusChanged {
            status: SessionStatus::Idle,
            reason: None,
        });
        let data = ev.data_json();
        assert_eq!(data, json!({"status": "idle"}));
        assert_eq!(EventData::from_parts(ev.event_type(), data).unwrap(), ev);
        assert!(EventData::from_parts("no.such.type", json!({})).is_err());
    }

    /// `TYPES` is exactly the enum's vocabulary: serde names every
    /// variant's wire name, in order, when it meets a type it does not know.
    #[test]
    fn types_are_every_event_type() {
        let err = EventData::from_parts("\u{0}", json!({}))
            .unwrap_err()
            .to_string();
        let (_, expected) = err.split_once("expected one of ").expect(&err);
        let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        assert_eq!(names, EventData::TYPES);
    }

    /// What a replay sends is the stored `data` parsed back into an event
    /// and serialised again; it must be the same bytes as the live event,
    /// floats included (costs are sums of f64 products).
    #[test]
    fn a_stored_event_reads_back_to_the_same_bytes() {
        let id: SessionId = "0190f5a4-7c1e-7000-8000-000000000001".parse().unwrap();
        let usage = Usage {
            input_tokens: 3_113,
            output_tokens: 245,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            cost_usd: 0.013014000000000001,
        };
        let events = [
            EventData::TurnCompleted(TurnCompleted {
                turn: 1,
                stop_reason: TurnStopReason::EndTurn,
                denied: 0,
                usage,
            }),
            EventData::ToolStarted(ToolStarted {
                call_id: "c".into(),
                tool: "t".into(),
                input: json!({"a": 0.1 + 0.2, "b": 1e300, "c": 5e-324, "d": -0.0,
                              "e": 123_456_789.123_456_78, "f": 2.225_073_858_507_201e-308}),
            }),
        ];
        for event in events {
            let live = EventEnvelope {
                seq: 1,
                session_id: id,
                ts: time::macros::datetime!(2026-11-21 10:00:00.123 UTC),
                event,
            };
            let live_json = serde_json::to_string(&live).unwrap();
            // The store's round trip: `data` as text, read into a Value.
            let stored = serde_json::to_string(&live.event.data_json()).unwrap();
            let data: Value = serde_json::from_str(&stored).unwrap();
            let replayed = EventEnvelope {
                event: EventData::from_parts(live.event_type(), data).unwrap(),
                ..live.clone()
            };
            assert_eq!(serde_json::to_string(&replayed).unwrap(), live_json);
        }
    }
}
