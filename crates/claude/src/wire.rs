//! The CLI's stream-json messages (PROTOCOLS §2.3–2.5) as typed enums.
//!
//! Every enum has an `Other` fallback and most fields are optional: the CLI
//! adds message types, subtypes and fields often, and a field we do not
//! read must never cost us a message we do.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// One line of the CLI's stdout.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum CliMessage {
    System(SystemMessage),
    Assistant(AssistantMessage),
    User(UserMessage),
    StreamEvent(StreamEventMessage),
    Result(ResultMessage),
    ControlRequest(ControlRequest),
    ControlResponse(ControlResponse),
    ControlCancelRequest(ControlCancel),
    #[serde(other)]
    Other,
}

impl CliMessage {
    /// Parses one line; a line that is JSON but not a shape we know (a new
    /// type, or a known type whose fields changed) becomes `Other`.
    pub fn parse(line: &[u8]) -> Result<Self, serde_json::Error> {
        match serde_json::from_slice::<Self>(line) {
            Ok(message) => Ok(message),
            Err(err) => {
                serde_json::from_slice::<serde::de::IgnoredAny>(line)?;
                tracing::debug!(error = %err, "claude: message of an unexpected shape ignored");
                Ok(Self::Other)
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(tag = "subtype", rename_all = "snake_case")]
pub(crate) enum SystemMessage {
    Init {
        session_id: String,
    },
    /// The CLI is retrying a failed model request.
    ApiRetry {
        #[serde(default)]
        attempt: u32,
        #[serde(default)]
        max_retries: u32,
        #[serde(default)]
        error_status: Option<u16>,
        #[serde(default)]
        error: Option<ApiErrorKind>,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AssistantMessage {
    pub message: ApiMessage,
    #[serde(default)]
    pub parent_tool_use_id: Option<String>,
    /// Set on the CLI's synthetic message for a failed model request.
    #[serde(default)]
    pub error: Option<ApiErrorKind>,
}

/// The CLI's classification of a failed model request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ApiErrorKind {
    AuthenticationFailed,
    BillingError,
    RateLimit,
    InvalidRequest,
    ServerError,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ApiMessage {
    pub id: String,
    /// Anthropic content blocks, kept raw for `message.completed`.
    #[serde(default)]
    pub content: Vec<Value>,
}

/// The content blocks we act on.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Block {
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        #[serde(default)]
        content: Value,
        #[serde(default)]
        is_error: bool,
    },
    Text {
        text: String,
    },
    #[serde(other)]
    Other,
}

impl Block {
    pub fn of(value: &Value) -> Block {
        Block::deserialize(value).unwrap_or(Block::Other)
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct UserMessage {
    pub message: UserBody,
    #[serde(default)]
    pub parent_tool_use_id: Option<String>,
    /// The tool's structured result (e.g. a Write's `type` and patch).
    #[serde(default)]
    pub tool_use_result: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct UserBody {
    #[serde(default)]
    pub content: UserContent,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum UserContent {
    Blocks(Vec<Value>),
    /// A plain prompt (replayed user input): nothing to map. Second, as
    /// `IgnoredAny` accepts anything.
    Text(serde::de::IgnoredAny),
}

impl Default for UserContent {
    fn default() -> Self {
        Self::Blocks(Vec::new())
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct StreamEventMessage {
    pub event: StreamEvent,
    #[serde(default)]
    pub parent_tool_use_id: Option<String>,
}

/// The raw Anthropic SSE events the CLI forwards (PROTOCOLS §1.5).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum StreamEvent {
    MessageStart {
        message: StreamMessageStart,
    },
    ContentBlockDelta {
        delta: StreamDelta,
    },
    MessageStop,
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StreamMessageStart {
    pub id: String,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum StreamDelta {
    TextDelta {
        text: String,
    },
    ThinkingDelta {
        thinking: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ResultMessage {
    pub subtype: ResultSubtype,
    #[serde(default)]
    pub is_error: bool,
    #[serde(default)]
    pub session_id: String,
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default)]
    pub errors: Vec<String>,
    #[serde(default)]
    pub stop_reason: Option<StopReason>,
    #[serde(default)]
    pub terminal_reason: Option<TerminalReason>,
    #[serde(default)]
    pub api_error_status: Option<u16>,
    #[serde(default)]
    pub usage: ResultUsage,
    /// Cumulative over the CLI session, resumed history included.
    #[serde(default)]
    pub total_cost_usd: Option<f64>,
    /// This turn alone, per model (newer CLIs).
    #[serde(default)]
    pub model_usage_since_last_result: Option<BTreeMap<String, ModelUsage>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ResultSubtype {
    Success,
    ErrorMaxTurns,
    ErrorDuringExecution,
    ErrorMaxBudgetUsd,
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StopReason {
    EndTurn,
    StopSequence,
    ToolUse,
    PauseTurn,
    MaxTokens,
    Refusal,
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TerminalReason {
    Completed,
    MaxTurns,
    AbortedStreaming,
    AbortedTools,
    ApiError,
    #[serde(other)]
    Other,
}

/// Per turn (unlike `total_cost_usd`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ResultUsage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_read_input_tokens: u64,
    #[serde(default)]
    pub cache_creation_input_tokens: u64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ModelUsage {
    #[serde(default, rename = "costUSD")]
    pub cost_usd: f64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ControlRequest {
    pub request_id: String,
    pub request: Value,
}

/// Requests the CLI sends us, by `subtype`.
#[derive(Debug, Deserialize)]
#[serde(tag = "subtype", rename_all = "snake_case")]
pub(crate) enum IncomingRequest {
    CanUseTool(CanUseTool),
    HookCallback(HookCallback),
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
pub(crate) struct HookCallback {
    pub callback_id: String,
    #[serde(default)]
    pub input: Value,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CanUseTool {
    pub tool_name: String,
    #[serde(default)]
    pub input: Value,
    #[serde(default)]
    pub tool_use_id: Option<String>,
    #[serde(default)]
    pub permission_suggestions: Option<Vec<Value>>,
    #[serde(default)]
    pub blocked_path: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub agent_id: Option<String>,
}

/// Only the subtype, to name an unsupported request in the error reply.
#[derive(Debug, Deserialize)]
pub(crate) struct SubtypeOnly {
    #[serde(default)]
    pub subtype: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ControlResponse {
    pub response: ControlResponseBody,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "subtype", rename_all = "snake_case")]
pub(crate) enum ControlResponseBody {
    Success {
        request_id: String,
        #[serde(default)]
        response: Value,
    },
    Error {
        request_id: String,
        #[serde(default)]
        error: String,
    },
}

#[derive(Debug, Deserialize)]
pub(crate) struct ControlCancel {
    pub request_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_types_subtypes_and_shapes_are_tolerated() {
        for line in [
            r#"{"type":"brand_new_thing","x":1}"#,
            r#"{"type":"system","subtype":"thinking_tokens","estimated_tokens":3}"#,
            r#"{"type":"assistant","message":"not an object"}"#,
            r#"{"type":"result","subtype":"error_new_kind","is_error":true,"stop_reason":"weird","terminal_reason":"aborted_hooks"}"#,
        ] {
            assert!(CliMessage::parse(line.as_bytes()).is_ok(), "{line}");
        }
        assert!(CliMessage::parse(b"{not json").is_err());
    }
}
