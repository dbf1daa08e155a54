//! Reassembles streamed tool calls from their fragments.
//!
//! The spec says fragments are keyed by `index`, but servers differ
//! (PROTOCOLS §5.3): old Ollama and some proxies omit `index`, newer Ollama
//! sends `index: 0` for every parallel call, and some servers send a whole
//! call at once or repeat an empty `id` on continuations. So a fragment is
//! matched by, in order: its non-empty `id` (a known id continues that call,
//! a new id starts a new call); else its `index`, or its position in the
//! chunk's `tool_calls` array when `index` is missing, against the most
//! recent call with that key.

use crate::openai::wire::ToolCallDelta;

/// One call as far as it has arrived.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PendingCall {
    pub id: String,
    pub name: String,
    /// Argument pieces in arrival order; only their concatenation parses.
    pub fragments: Vec<String>,
    /// The `index` (or array position) the call was last addressed by.
    key: u32,
    /// Whether `id` came from the server, so later fragments may repeat it.
    server_id: bool,
}

#[derive(Debug, Default)]
pub(crate) struct ToolCalls {
    calls: Vec<PendingCall>,
}

impl ToolCalls {
    /// Adds the fragment found at `position` in a chunk's `tool_calls`.
    pub fn push(&mut self, position: usize, delta: ToolCallDelta) {
        let id = delta.id.filter(|id| !id.is_empty());
        let key = delta
            .index
            .unwrap_or_else(|| u32::try_from(position).unwrap_or(u32::MAX));
        let existing = match &id {
            Some(id) => self
                .calls
                .iter()
                .position(|call| call.server_id && call.id == *id),
            None => self.calls.iter().rposition(|call| call.key == key),
        };
        let call = match existing {
            Some(at) => &mut self.calls[at],
            None => {
                self.calls.push(PendingCall {
                    server_id: id.is_some(),
                    id: id.unwrap_or_else(generated_id),
                    name: String::new(),
                    fragments: Vec::new(),
                    key,
                });
                let last = self.calls.len() - 1;
                &mut self.calls[last]
            }
        };
        call.key = key;
        if let Some(name) = delta.function.name.filter(|name| !name.is_empty())
            && call.name.is_empty()
        {
            // Only the first name counts: some servers repeat it on every piece.
            call.name = name;
        }
        if let Some(arguments) = delta.function.arguments {
            let text = arguments.into_text();
            if !text.is_empty() {
                call.fragments.push(text);
            }
        }
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The calls so far, in the order they started.
    pub fn take(&mut self) -> Vec<PendingCall> {
        std::mem::take(&mut self.calls)
    }
}

/// For servers that send no id at all; ids must still be unique in a session.
fn generated_id() -> String {
    format!("call_agentd_{:016x}", rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    /// Feeds chunks, each a list of fragments, and returns (id, name, args).
    fn run(chunks: Vec<Value>) -> Vec<(String, String, Value)> {
        let mut calls = ToolCalls::default();
        for chunk in chunks {
            let fragments: Vec<ToolCallDelta> = serde_json::from_value(chunk).unwrap();
            for (position, fragment) in fragments.into_iter().enumerate() {
                calls.push(position, fragment);
            }
        }
        calls
            .take()
            .into_iter()
            .map(|c| {
                let args = c.fragments.concat();
                let args = if args.is_empty() {
                    json!({})
                } else {
                    serde_json::from_str(&args).unwrap()
                };
                (c.id, c.name, args)
            })
            .collect()
    }

    fn expected() -> Vec<(String, String, Value)> {
        vec![
            ("call_a".into(), "read".into(), json!({"path": "a.rs"})),
            ("call_b".into(), "bash".into(), json!({"command": "ls"})),
        ]
    }

    #[test]
    fn canonical_fragments_accumulate_by_index() {
        let out = run(vec![
            json!([{"index": 0, "id": "call_a", "type": "function", "function": {"name": "read", "arguments": ""}}]),
            json!([{"index": 0, "function": {"arguments": "{\"pa"}}]),
            json!([{"index": 0, "function": {"arguments": "th\": \"a.rs\"}"}}]),
            json!([{"index": 1, "id": "call_b", "type": "function", "function": {"name": "bash", "arguments": ""}}]),
            json!([{"index": 1, "function": {"arguments": "{\"command\": \"ls\"}"}}]),
        ]);
        assert_eq!(out, expected());
    }

    #[test]
    fn repeated_index_zero_is_split_by_id() {
        let out = run(vec![
            json!([{"index": 0, "id": "call_a", "function": {"name": "read"}}]),
            json!([{"index": 0, "id": "", "function": {"arguments": "{\"path\": \"a.rs\"}"}}]),
            json!([{"index": 0, "id": "call_b", "function": {"name": "bash", "arguments": "{\"comm"}}]),
            json!([{"index": 0, "function": {"arguments": "and\": \"ls\"}"}}]),
        ]);
        assert_eq!(out, expected());
    }

    #[test]
    fn missing_index_falls_back_on_ids_then_position() {
        let out = run(vec![
            json!([{"id": "call_a", "function": {"name": "read", "arguments": ""}},
                   {"id": "call_b", "function": {"name": "bash", "arguments": ""}}]),
            json!([{"function": {"arguments": "{\"path\": \"a.rs\"}"}},
                   {"function": {"arguments": "{\"command\": \"ls\"}"}}]),
        ]);
        assert_eq!(out, expected());
        let sequential = run(vec![
            json!([{"id": "call_a", "function": {"name": "read", "arguments": "{\"path\""}}]),
            json!([{"function": {"arguments": ": \"a.rs\"}"}}]),
            json!([{"id": "call_b", "function": {"name": "bash", "arguments": "{\"command\": "}}]),
            json!([{"id": "call_b", "function": {"arguments": "\"ls\"}"}}]),
        ]);
        assert_eq!(sequential, expected());
    }

    #[test]
    fn whole_calls_in_one_chunk() {
        let out = run(vec![json!([
            {"index": 0, "id": "call_a", "function": {"name": "read", "arguments": "{\"path\": \"a.rs\"}"}},
            {"index": 0, "id": "call_b", "function": {"name": "bash", "arguments": {"command": "ls"}}}
        ])]);
        assert_eq!(out, expected());
    }

    #[test]
    fn calls_without_ids_get_unique_generated_ones() {
        let out = run(vec![
            json!([{"index": 0, "function": {"name": "read", "arguments": "{}"}}]),
            json!([{"index": 1, "function": {"name": "bash", "arguments": "{}"}}]),
        ]);
        assert_eq!(out.len(), 2);
        assert!(out[0].0.starts_with("call_agentd_"));
        assert_ne!(out[0].0, out[1].0);
    }
}
