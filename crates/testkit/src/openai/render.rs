//! Renders a resolved [`Turn`](crate::Turn) the way Chat Completions servers
//! send it: `chat.completion.chunk` SSE frames ending in `data: [DONE]`, or
//! one `chat.completion` object, with [`Quirk`]s bending the stream.

use serde_json::{Map, Value, json};

use crate::openai::script::Quirk;
use crate::resolve::{Block, Resolved};
use crate::script::ScriptUsage;

/// The request's wishes and the quirks that apply to one streamed turn.
#[derive(Clone, Debug, Default)]
pub(crate) struct StreamShape {
    pub quirks: Vec<Quirk>,
    /// `stream_options.include_usage` as the request asked.
    pub include_usage: bool,
    pub created: u64,
}

impl StreamShape {
    fn has(&self, quirk: Quirk) -> bool {
        self.quirks.contains(&quirk)
    }
}

/// Anthropic stop reasons in scripts become finish reasons; other values
/// (already `stop`, `length`, … or made up) pass through.
pub(crate) fn finish_reason(stop_reason: &str) -> &str {
    match stop_reason {
        "end_turn" | "stop_sequence" | "pause_turn" => "stop",
        "tool_use" => "tool_calls",
        "max_tokens" => "length",
        "refusal" => "content_filter",
        other => other,
    }
}

/// Every SSE frame of a streamed turn, in order, `[DONE]` included.
pub(crate) fn frames(turn: &Resolved, shape: &StreamShape) -> Vec<String> {
    let chunk = |choices: Value, usage: Option<Value>| {
        let mut chunk = Map::new();
        chunk.insert("id".into(), json!(turn.id));
        chunk.insert("object".into(), json!("chat.completion.chunk"));
        chunk.insert("created".into(), json!(shape.created));
        chunk.insert("model".into(), json!(turn.model));
        chunk.insert("system_fingerprint".into(), json!("fp_testkit"));
        chunk.insert("choices".into(), choices);
        if shape.include_usage {
            chunk.insert("usage".into(), usage.unwrap_or(Value::Null));
        }
        Value::Object(chunk)
    };
    let delta = |delta: Value| {
        chunk(
            json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": null}]),
            None,
        )
    };
    let mut out = vec![delta(
        json!({"role": "assistant", "content": "", "refusal": null}),
    )];
    let calls: Vec<(usize, &str, &str, String)> = turn
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::ToolUse { id, name, input } => Some((id.as_str(), name.as_str(), input)),
            _ => None,
        })
        .enumerate()
        .map(|(k, (id, name, input))| (k, id, name, input.to_string()))
        .collect();
    let index = |k: usize| -> Option<usize> {
        if shape.has(Quirk::MissingIndex) {
            None
        } else if shape.has(Quirk::RepeatedIndexZero) {
            Some(0)
        } else {
            Some(k)
        }
    };
    let fragment = |k: usize, fields: Value| {
        let mut call = Map::new();
        if let Some(index) = index(k) {
            call.insert("index".into(), json!(index));
        }
        if let Value::Object(fields) = fields {
            call.extend(fields);
        }
        Value::Object(call)
    };
    let mut call_at = 0;
    for block in &turn.blocks {
        match block {
            Block::Text(text) => out.extend(pieces(text, 12).map(|p| delta(json!({"content": p})))),
            Block::ToolUse { .. } if shape.has(Quirk::WholeCallInOneChunk) => {
                // Ollama's shape: every call, complete, in the first call's chunk.
                if call_at == 0 {
                    let all: Vec<Value> = calls
                        .iter()
                        .map(|(k, id, name, args)| {
                            fragment(*k, json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}}))
                        })
                        .collect();
                    out.push(delta(
                        json!({"role": "assistant", "content": null, "tool_calls": all}),
                    ));
                }
                call_at += 1;
            }
            Block::ToolUse { .. } => {
                let Some((k, id, name, args)) = calls.get(call_at) else {
                    continue;
                };
                call_at += 1;
                out.push(delta(json!({"tool_calls": [fragment(*k, json!(
                    {"id": id, "type": "function", "function": {"name": name, "arguments": ""}}
                ))]})));
                // Pieces that only parse joined, as real servers send them.
                for piece in pieces(args, args.chars().count().div_ceil(3).max(1)) {
                    let mut fields = json!({"function": {"arguments": piece}});
                    if shape.has(Quirk::EmptyIdOnContinuation) {
                        fields["id"] = json!("");
                    }
                    out.push(delta(json!({"tool_calls": [fragment(*k, fields)]})));
                }
            }
            // Chat Completions has no thinking or foreign blocks: not sent.
            Block::Thinking { .. } | Block::RedactedThinking(_) | Block::Raw(_) => {}
        }
    }
    let finish = match finish_reason(&turn.stop_reason) {
        "tool_calls" if shape.has(Quirk::StopWithToolCalls) => "stop",
        other => other,
    };
    out.push(chunk(
        json!([{"index": 0, "delta": {}, "logprobs": null, "finish_reason": finish}]),
        None,
    ));
    if shape.include_usage && !shape.has(Quirk::NoUsage) {
        let mut last = chunk(json!([]), Some(usage_json(&turn.usage)));
        if let Value::Object(fields) = &mut last {
            if shape.has(Quirk::MissingChoicesInUsage) {
                fields.remove("choices");
            } else if shape.has(Quirk::NullChoicesInUsage) {
                fields.insert("choices".into(), Value::Null);
            }
        }
        out.push(last);
    }
    let mut frames: Vec<String> = out.iter().map(|c| format!("data: {c}\n\n")).collect();
    if !shape.has(Quirk::NoDoneMarker) {
        frames.push("data: [DONE]\n\n".to_owned());
    }
    frames
}

/// The non-streaming `chat.completion` body.
pub(crate) fn completion_json(turn: &Resolved, created: u64) -> Value {
    let text: String = turn
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let calls: Vec<Value> = turn
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::ToolUse { id, name, input } => Some(json!({
                "id": id, "type": "function",
                "function": {"name": name, "arguments": input.to_string()}
            })),
            _ => None,
        })
        .collect();
    let mut message = json!({"role": "assistant", "content": (!text.is_empty()).then_some(text), "refusal": null});
    if !calls.is_empty() {
        message["tool_calls"] = json!(calls);
    }
    json!({
        "id": turn.id,
        "object": "chat.completion",
        "created": created,
        "model": turn.model,
        "system_fingerprint": "fp_testkit",
        "choices": [{"index": 0, "message": message, "logprobs": null,
            "finish_reason": finish_reason(&turn.stop_reason)}],
        "usage": usage_json(&turn.usage),
    })
}

/// OpenAI counts cached tokens inside `prompt_tokens`.
fn usage_json(usage: &ScriptUsage) -> Value {
    let prompt =
        usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens;
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": usage.output_tokens,
        "total_tokens": prompt + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_input_tokens, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    })
}

/// A mid-stream failure as OpenAI-compatible servers report it.
pub(crate) fn error_frame(error_type: &str) -> String {
    let body = json!({"error": {"message": "The server had an error while processing your request.",
        "type": error_type, "param": null, "code": null}});
    format!("data: {body}\n\n")
}

/// A frame that is not valid JSON, for decode-error tests.
pub(crate) fn malformed_frame() -> String {
    "data: {\"id\": \"chatcmpl-x\", \"choices\": [{tru\n\n".to_owned()
}

/// `text` split on character boundaries into pieces of at most `size` chars.
fn pieces(text: &str, size: usize) -> impl Iterator<Item = String> {
    let chars: Vec<char> = text.chars().collect();
    let parts: Vec<String> = chars
        .chunks(size.max(1))
        .map(|c| c.iter().collect())
        .collect();
    parts.into_iter()
}
