//! Renders a resolved [`Turn`](crate::Turn) the way the Messages API sends
//! it: SSE frames (PROTOCOLS §1.5) or one JSON message (§1.4).

use serde_json::{Value, json};

use crate::resolve::{Block, Resolved};
use crate::script::ScriptUsage;

/// The non-streaming response body.
pub(crate) fn message_json(turn: &Resolved) -> Value {
    json!({
        "id": turn.id,
        "type": "message",
        "role": "assistant",
        "model": turn.model,
        "content": turn.blocks.iter().map(block_json).collect::<Vec<_>>(),
        "stop_reason": turn.stop_reason,
        "stop_sequence": null,
        "usage": usage_json(&turn.usage, turn.usage.output_tokens),
    })
}

/// A content block as the whole message carries it.
fn block_json(block: &Block) -> Value {
    match block {
        Block::Text(text) => json!({"type": "text", "text": text}),
        Block::Thinking {
            thinking,
            signature,
        } => {
            json!({"type": "thinking", "thinking": thinking, "signature": signature})
        }
        Block::RedactedThinking(data) => json!({"type": "redacted_thinking", "data": data}),
        Block::ToolUse { id, name, input } => {
            json!({"type": "tool_use", "id": id, "name": name, "input": input})
        }
        Block::Raw(block) => block.clone(),
    }
}

fn usage_json(usage: &ScriptUsage, output_tokens: u64) -> Value {
    json!({
        "input_tokens": usage.input_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
        "output_tokens": output_tokens,
        "service_tier": "standard",
    })
}

/// One SSE event: its name and JSON data.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Frame {
    pub event: &'static str,
    pub data: Value,
}

impl Frame {
    fn new(event: &'static str, data: Value) -> Self {
        Self { event, data }
    }

    /// `event: …\ndata: …\n\n`, byte for byte as the API frames it.
    pub fn to_sse(&self) -> String {
        format!("event: {}\ndata: {}\n\n", self.event, self.data)
    }

    pub fn ping() -> Self {
        Self::new("ping", json!({"type": "ping"}))
    }

    pub fn error(error_type: &str) -> Self {
        Self::new(
            "error",
            json!({"type": "error", "error": {"type": error_type, "message": error_message(error_type)}}),
        )
    }
}

fn error_message(error_type: &str) -> &'static str {
    match error_type {
        "overloaded_error" => "Overloaded",
        "rate_limit_error" => "Rate limited",
        _ => "Internal server error",
    }
}

/// Every event of a streamed turn, pings included, in order.
pub(crate) fn frames(turn: &Resolved) -> Vec<Frame> {
    let mut out = vec![Frame::new(
        "message_start",
        json!({"type": "message_start",
            "message": {
                "id": turn.id, "type": "message", "role": "assistant", "model": turn.model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": usage_json(&turn.usage, 1),
            }
        }),
    )];
    out.push(Frame::ping());
    for (index, block) in turn.blocks.iter().enumerate() {
        if index > 0 {
            out.push(Frame::ping());
        }
        block_frames(index, block, &mut out);
    }
    out.push(Frame::new(
        "message_delta",
        json!({"type": "message_delta",
            "delta": {"stop_reason": turn.stop_reason, "stop_sequence": null},
            "usage": usage_json(&turn.usage, turn.usage.output_tokens),
        }),
    ));
    out.push(Frame::new("message_stop", json!({"type": "message_stop"})));
    out
}

fn block_frames(index: usize, block: &Block, out: &mut Vec<Frame>) {
    let delta = |delta: Value| {
        Frame::new(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index, "delta": delta}),
        )
    };
    let start = |block: Value| {
        Frame::new(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": block}),
        )
    };
    match block {
        Block::Text(text) => {
            out.push(start(json!({"type": "text", "text": ""})));
            out.extend(chunks(text).map(|text| delta(json!({"type": "text_delta", "text": text}))));
        }
        Block::Thinking {
            thinking,
            signature,
        } => {
            out.push(start(
                json!({"type": "thinking", "thinking": "", "signature": ""}),
            ));
            out.extend(
                chunks(thinking).map(|t| delta(json!({"type": "thinking_delta", "thinking": t}))),
            );
            out.push(delta(
                json!({"type": "signature_delta", "signature": signature}),
            ));
        }
        Block::RedactedThinking(data) => {
            out.push(start(json!({"type": "redacted_thinking", "data": data})));
        }
        Block::ToolUse { id, name, input } => {
            out.push(start(
                json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
            ));
            // Like the API: an empty first piece, then pieces that only parse joined.
            out.push(delta(
                json!({"type": "input_json_delta", "partial_json": ""}),
            ));
            let json = input.to_string();
            out.extend(
                pieces(&json, 3)
                    .map(|p| delta(json!({"type": "input_json_delta", "partial_json": p}))),
            );
        }
        Block::Raw(block) => out.push(start(block.clone())),
    }
    out.push(Frame::new(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": index}),
    ));
}

/// Text deltas: pieces of at most 12 characters, at least two for texts of
/// two or more characters, so clients must concatenate.
fn chunks(text: &str) -> impl Iterator<Item = String> + '_ {
    let n = text.chars().count();
    let size = n.div_ceil(2).clamp(1, 12);
    pieces(text, n.div_ceil(size).max(1))
}

/// `text` split on character boundaries into `count` nearly equal pieces.
fn pieces(text: &str, count: usize) -> impl Iterator<Item = String> + '_ {
    let chars: Vec<char> = text.chars().collect();
    let size = chars.len().div_ceil(count.max(1)).max(1);
    let parts: Vec<String> = chars.chunks(size).map(|c| c.iter().collect()).collect();
    parts.into_iter()
}

/// A frame that is not valid SSE JSON, for decode-error tests.
pub(crate) fn malformed_frame() -> String {
    "event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {tru\n\n".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::resolve;
    use crate::script::{Turn, turn};

    fn resolved(t: Turn) -> Resolved {
        let mut n = 0;
        resolve(&t, "msg_1".into(), Some("claude-x"), 10, move || {
            n += 1;
            format!("toolu_{n:02}")
        })
    }

    #[test]
    fn deltas_reassemble_to_the_final_blocks() {
        let t = resolved(
            turn()
                .thinking("let me see", "sig-1")
                .text("I'll run it now")
                .tool_use("bash", json!({"command": "ls -la"})),
        );
        let frames = frames(&t);
        assert_eq!(frames.first().map(|f| f.event), Some("message_start"));
        assert_eq!(frames.last().map(|f| f.event), Some("message_stop"));
        let deltas: Vec<&Value> = frames
            .iter()
            .filter(|f| f.event == "content_block_delta")
            .map(|f| &f.data)
            .collect();
        let text: String = deltas
            .iter()
            .filter_map(|d| d["delta"]["text"].as_str())
            .collect();
        assert_eq!(text, "I'll run it now");
        let json_pieces: Vec<&str> = deltas
            .iter()
            .filter_map(|d| d["delta"]["partial_json"].as_str())
            .collect();
        assert!(json_pieces.len() >= 3);
        assert!(
            json_pieces
                .iter()
                .all(|p| serde_json::from_str::<Value>(p).is_err())
        );
        assert_eq!(
            serde_json::from_str::<Value>(&json_pieces.concat()).unwrap(),
            json!({"command": "ls -la"})
        );
        assert_eq!(t.stop_reason, "tool_use");
        assert!(frames.iter().any(|f| f.event == "ping"));
    }

    #[test]
    fn the_json_message_carries_ids_and_usage() {
        let t = resolved(
            turn()
                .tool_use("a", json!({}))
                .tool_use("b", json!({}))
                .usage(5, 6, 7, 8)
                .stop_reason("max_tokens"),
        );
        let msg = message_json(&t);
        assert_eq!(msg["content"][0]["id"], "toolu_01");
        assert_eq!(msg["content"][1]["id"], "toolu_02");
        assert_eq!(msg["stop_reason"], "max_tokens");
        assert_eq!(msg["usage"]["cache_read_input_tokens"], 7);
        assert_eq!(msg["usage"]["cache_creation_input_tokens"], 8);
    }

    #[test]
    fn frames_are_framed_like_the_api() {
        assert_eq!(
            Frame::ping().to_sse(),
            "event: ping\ndata: {\"type\":\"ping\"}\n\n"
        );
    }
}
