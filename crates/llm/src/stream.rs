//! Typed server-sent events of a streamed Messages response (PROTOCOLS §1.5)
//! and the finished message they add up to.

use serde::{Deserialize, Serialize};

use crate::error::ApiErrorKind;
use crate::messages::ContentBlock;

/// One decoded SSE event. The JSON `type` equals the SSE event name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    MessageStart {
        message: MessageStart,
    },
    ContentBlockStart {
        index: usize,
        content_block: ContentBlock,
    },
    ContentBlockDelta {
        index: usize,
        delta: Delta,
    },
    ContentBlockStop {
        index: usize,
    },
    MessageDelta {
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: UsageUpdate,
    },
    MessageStop,
    Ping,
    Error {
        error: StreamError,
    },
    /// An event type newer than this code; tolerated and ignored.
    #[serde(other)]
    Unknown,
}

/// The fields of `message_start.message` we need; the rest is empty then.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageStart {
    pub id: String,
    pub model: String,
    #[serde(default)]
    pub usage: UsageUpdate,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Delta {
    TextDelta {
        text: String,
    },
    /// A piece of a tool's input JSON; only the concatenation parses.
    InputJsonDelta {
        partial_json: String,
    },
    ThinkingDelta {
        thinking: String,
    },
    SignatureDelta {
        signature: String,
    },
    CitationsDelta {
        citation: serde_json::Value,
    },
    #[serde(other)]
    Unknown,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageDeltaBody {
    #[serde(default)]
    pub stop_reason: Option<StopReason>,
    #[serde(default)]
    pub stop_sequence: Option<String>,
}

/// The payload of a mid-stream `event: error`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamError {
    #[serde(rename = "type")]
    pub kind: ApiErrorKind,
    #[serde(default)]
    pub message: String,
}

/// Usage as sent on the wire: any field may be absent or null. In
/// `message_delta` the present fields are cumulative totals, not increments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageUpdate {
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
}

/// Token counts of one model call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Uncached input only; see [`TokenUsage::total_input`].
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
}

impl TokenUsage {
    /// Overwrites every field the update carries (the values are totals).
    pub fn apply(&mut self, update: &UsageUpdate) {
        let set = |field: &mut u64, value: Option<u64>| {
            if let Some(value) = value {
                *field = value;
            }
        };
        set(&mut self.input_tokens, update.input_tokens);
        set(&mut self.output_tokens, update.output_tokens);
        set(
            &mut self.cache_creation_input_tokens,
            update.cache_creation_input_tokens,
        );
        set(
            &mut self.cache_read_input_tokens,
            update.cache_read_input_tokens,
        );
    }

    /// All input tokens of the call, cached or not (PROTOCOLS §1.4).
    pub fn total_input(&self) -> u64 {
        self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens
    }
}

impl From<UsageUpdate> for TokenUsage {
    fn from(update: UsageUpdate) -> Self {
        let mut usage = Self::default();
        usage.apply(&update);
        usage
    }
}

/// Why the model stopped; `Other` keeps values newer than this code.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum StopReason {
    EndTurn,
    MaxTokens,
    StopSequence,
    ToolUse,
    PauseTurn,
    Refusal,
    ModelContextWindowExceeded,
    Other(String),
}

impl StopReason {
    pub fn as_str(&self) -> &str {
        match self {
            Self::EndTurn => "end_turn",
            Self::MaxTokens => "max_tokens",
            Self::StopSequence => "stop_sequence",
            Self::ToolUse => "tool_use",
            Self::PauseTurn => "pause_turn",
            Self::Refusal => "refusal",
            Self::ModelContextWindowExceeded => "model_context_window_exceeded",
            Self::Other(other) => other,
        }
    }
}

impl From<String> for StopReason {
    fn from(wire: String) -> Self {
        match wire.as_str() {
            "end_turn" => Self::EndTurn,
            "max_tokens" => Self::MaxTokens,
            "stop_sequence" => Self::StopSequence,
            "tool_use" => Self::ToolUse,
            "pause_turn" => Self::PauseTurn,
            "refusal" => Self::Refusal,
            "model_context_window_exceeded" => Self::ModelContextWindowExceeded,
            _ => Self::Other(wire),
        }
    }
}

impl From<StopReason> for String {
    fn from(reason: StopReason) -> Self {
        reason.as_str().to_owned()
    }
}

/// A complete assistant reply, streamed or not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AssistantMessage {
    pub id: String,
    pub model: String,
    pub content: Vec<ContentBlock>,
    pub stop_reason: StopReason,
    pub usage: TokenUsage,
}

impl AssistantMessage {
    /// The reply as a conversation message, ready to be sent back.
    pub fn to_message(&self) -> crate::messages::Message {
        crate::messages::Message::assistant(self.content.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn decode(value: serde_json::Value) -> StreamEvent {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn events_decode_by_type() {
        assert_eq!(decode(json!({"type": "ping"})), StreamEvent::Ping);
        assert_eq!(
            decode(json!({"type": "brand_new_event", "x": 1})),
            StreamEvent::Unknown
        );
        assert_eq!(
            decode(
                json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{\"a"}})
            ),
            StreamEvent::ContentBlockDelta {
                index: 2,
                delta: Delta::InputJsonDelta {
                    partial_json: "{\"a".into()
                }
            }
        );
        assert_eq!(
            decode(
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "future_delta"}})
            ),
            StreamEvent::ContentBlockDelta {
                index: 0,
                delta: Delta::Unknown
            }
        );
        assert_eq!(
            decode(
                json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
            ),
            StreamEvent::Error {
                error: StreamError {
                    kind: ApiErrorKind::Overloaded,
                    message: "Overloaded".into()
                }
            }
        );
    }

    #[test]
    fn message_delta_tolerates_nulls_and_missing_usage_fields() {
        let event = decode(json!({
            "type": "message_delta",
            "delta": {"stop_reason": "pause_turn", "stop_sequence": null},
            "usage": {"output_tokens": 15, "cache_read_input_tokens": null}
        }));
        let StreamEvent::MessageDelta { delta, usage } = event else {
            panic!("{event:?}")
        };
        assert_eq!(delta.stop_reason, Some(StopReason::PauseTurn));
        assert_eq!(
            usage,
            UsageUpdate {
                output_tokens: Some(15),
                ..UsageUpdate::default()
            }
        );
    }

    #[test]
    fn stop_reasons_keep_unknown_values() {
        let reason: StopReason = serde_json::from_value(json!("new_reason")).unwrap();
        assert_eq!(reason, StopReason::Other("new_reason".into()));
        assert_eq!(
            serde_json::to_value(StopReason::ModelContextWindowExceeded).unwrap(),
            "model_context_window_exceeded"
        );
    }

    #[test]
    fn usage_updates_overwrite_only_present_fields() {
        let mut usage = TokenUsage {
            input_tokens: 10,
            output_tokens: 1,
            cache_creation_input_tokens: 5,
            cache_read_input_tokens: 7,
        };
        usage.apply(&UsageUpdate {
            output_tokens: Some(40),
            ..UsageUpdate::default()
        });
        assert_eq!(usage.output_tokens, 40);
        assert_eq!(usage.total_input(), 22);
    }
}
