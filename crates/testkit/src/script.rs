//! What the fake says: scripted replies, built with [`turn()`] or sent as
//! JSON to the standalone server.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One answer to one `POST /v1/messages`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Turn(Turn),
    Failure(Failure),
}

impl Reply {
    pub fn failure(failure: Failure) -> Self {
        Self::Failure(failure)
    }
}

impl From<Turn> for Reply {
    fn from(turn: Turn) -> Self {
        Self::Turn(turn)
    }
}

impl From<Failure> for Reply {
    fn from(failure: Failure) -> Self {
        Self::Failure(failure)
    }
}

/// An empty assistant turn to build on: `turn().text("hi").tool_use("bash", json!({..}))`.
pub fn turn() -> Turn {
    Turn::default()
}

/// A successful assistant message, streamed or returned whole.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Turn {
    pub blocks: Vec<ScriptBlock>,
    /// Defaults to `tool_use` when a tool_use block is present, else `end_turn`.
    pub stop_reason: Option<String>,
    /// Defaults to estimates from the request and reply sizes, no cache.
    pub usage: Option<ScriptUsage>,
    /// Defaults to the request's `model`.
    pub model: Option<String>,
    pub faults: Faults,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ScriptBlock {
    Text {
        text: String,
    },
    Thinking {
        thinking: String,
        signature: String,
    },
    RedactedThinking {
        data: String,
    },
    /// `id` is generated (`toolu_01`, `toolu_02`, … per fake) when absent.
    ToolUse {
        name: String,
        input: Value,
        #[serde(default)]
        id: Option<String>,
    },
    /// Any block object, sent as is in `content_block_start` (e.g. a block
    /// type clients do not know yet).
    Raw {
        block: Value,
    },
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub cache_creation_input_tokens: u64,
}

/// Misbehaviour of a streamed turn. Event positions count every SSE event
/// sent, pings included, starting at 0 with `message_start`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Abort the connection after this many events (no message_stop).
    pub disconnect_after: Option<usize>,
    /// Sleep before each event (overrides the fake's token delay).
    pub delay_per_event_ms: Option<u64>,
    /// Send a garbage `data:` line in place of event k.
    pub malformed_frame_at: Option<usize>,
    /// Send `event: error` after this many events, then end the stream.
    pub error_event_after: Option<ErrorEventFault>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorEventFault {
    pub after: usize,
    pub error_type: String,
}

impl Turn {
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.blocks.push(ScriptBlock::Text { text: text.into() });
        self
    }

    pub fn thinking(mut self, thinking: impl Into<String>, signature: impl Into<String>) -> Self {
        self.blocks.push(ScriptBlock::Thinking {
            thinking: thinking.into(),
            signature: signature.into(),
        });
        self
    }

    pub fn redacted_thinking(mut self, data: impl Into<String>) -> Self {
        self.blocks
            .push(ScriptBlock::RedactedThinking { data: data.into() });
        self
    }

    pub fn tool_use(mut self, name: impl Into<String>, input: Value) -> Self {
        self.blocks.push(ScriptBlock::ToolUse {
            name: name.into(),
            input,
            id: None,
        });
        self
    }

    pub fn tool_use_with_id(
        mut self,
        id: impl Into<String>,
        name: impl Into<String>,
        input: Value,
    ) -> Self {
        self.blocks.push(ScriptBlock::ToolUse {
            name: name.into(),
            input,
            id: Some(id.into()),
        });
        self
    }

    /// A content block of any shape, e.g. `json!({"type": "server_tool_use", ...})`.
    pub fn raw_block(mut self, block: Value) -> Self {
        self.blocks.push(ScriptBlock::Raw { block });
        self
    }

    pub fn stop_reason(mut self, reason: impl Into<String>) -> Self {
        self.stop_reason = Some(reason.into());
        self
    }

    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    pub fn usage(mut self, input: u64, output: u64, cache_read: u64, cache_write: u64) -> Self {
        self.usage = Some(ScriptUsage {
            input_tokens: input,
            output_tokens: output,
            cache_read_input_tokens: cache_read,
            cache_creation_input_tokens: cache_write,
        });
        self
    }

    pub fn disconnect_after(mut self, events: usize) -> Self {
        self.faults.disconnect_after = Some(events);
        self
    }

    pub fn delay_per_event(mut self, delay: Duration) -> Self {
        self.faults.delay_per_event_ms = Some(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
        self
    }

    pub fn malformed_frame_at(mut self, event: usize) -> Self {
        self.faults.malformed_frame_at = Some(event);
        self
    }

    pub fn error_event_after(mut self, events: usize, error_type: impl Into<String>) -> Self {
        self.faults.error_event_after = Some(ErrorEventFault {
            after: events,
            error_type: error_type.into(),
        });
        self
    }

    pub(crate) fn has_tool_use(&self) -> bool {
        self.blocks
            .iter()
            .any(|block| matches!(block, ScriptBlock::ToolUse { .. }))
    }
}

/// An HTTP error answer with the API's error body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub status: u16,
    /// The body's `error.type`, e.g. `overloaded_error`.
    pub error_type: String,
    pub message: String,
    /// Extra response headers (`retry-after`, `x-should-retry`, …).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

impl Failure {
    pub fn new(status: u16, error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            error_type: error_type.into(),
            message: message.into(),
            headers: BTreeMap::new(),
        }
    }

    /// 529 overloaded_error.
    pub fn overloaded() -> Self {
        Self::new(529, "overloaded_error", "Overloaded")
    }

    /// 429 rate_limit_error with `retry-after: secs`.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self::new(
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
        )
        .header("retry-after", retry_after_secs.to_string())
    }

    /// 500 api_error.
    pub fn server_error() -> Self {
        Self::new(500, "api_error", "Internal server error")
    }

    /// 400 invalid_request_error.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_request_error", message)
    }

    /// 401 authentication_error.
    pub fn unauthorized() -> Self {
        Self::new(401, "authentication_error", "invalid x-api-key")
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers
            .insert(name.into().to_ascii_lowercase(), value.into());
        self
    }

    pub fn retry_after_ms(self, millis: u64) -> Self {
        self.header("retry-after-ms", millis.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replies_round_trip_as_json() {
        let replies = vec![
            Reply::from(
                turn()
                    .thinking("t", "s")
                    .text("hi")
                    .tool_use("bash", json!({"command": "ls"}))
                    .disconnect_after(3),
            ),
            Reply::failure(Failure::rate_limited(2).header("x-should-retry", "false")),
        ];
        let wire = serde_json::to_value(&replies).unwrap();
        assert_eq!(wire[1]["failure"]["headers"]["retry-after"], "2");
        assert_eq!(serde_json::from_value::<Vec<Reply>>(wire).unwrap(), replies);
    }

    #[test]
    fn minimal_json_scripts_are_accepted() {
        let reply: Reply =
            serde_json::from_value(json!({"turn": {"blocks": [{"type": "text", "text": "ok"}]}}))
                .unwrap();
        assert_eq!(reply, Reply::from(turn().text("ok")));
    }
}
