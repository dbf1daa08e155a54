//! Folds stream events into an [`AssistantMessage`], keyed by block index.

use std::collections::BTreeMap;

use futures::StreamExt;
use serde_json::Value;

use crate::client::EventStream;
use crate::error::LlmError;
use crate::messages::ContentBlock;
use crate::stream::{AssistantMessage, Delta, StopReason, StreamEvent, TokenUsage};

/// Accumulates one streamed message. Feed every event to [`push`](Self::push),
/// then call [`finish`](Self::finish).
#[derive(Debug, Default)]
pub struct MessageAccumulator {
    started: Option<(String, String)>,
    usage: TokenUsage,
    blocks: BTreeMap<usize, PartialBlock>,
    stop_reason: Option<StopReason>,
    stopped: bool,
}

#[derive(Debug)]
struct PartialBlock {
    block: ContentBlock,
    /// Concatenated `input_json_delta` pieces; parsed at content_block_stop.
    json: String,
    closed: bool,
}

impl PartialBlock {
    fn close(&mut self) -> Result<(), LlmError> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        let json = std::mem::take(&mut self.json);
        if json.trim().is_empty() {
            // No deltas: the input from content_block_start (normally `{}`) stands.
            return Ok(());
        }
        let parsed: Value = serde_json::from_str(&json)
            .map_err(|e| LlmError::Decode(format!("tool input is not valid JSON: {e}")))?;
        match &mut self.block {
            ContentBlock::ToolUse { input, .. } => *input = parsed,
            // server_tool_use and friends stream their input the same way.
            ContentBlock::Unknown(raw) => {
                raw.insert("input".to_owned(), parsed);
            }
            ContentBlock::Text { .. }
            | ContentBlock::Thinking { .. }
            | ContentBlock::RedactedThinking { .. }
            | ContentBlock::ToolResult { .. } => {}
        }
        Ok(())
    }

    fn apply(&mut self, index: usize, delta: &Delta) -> Result<(), LlmError> {
        match (&mut self.block, delta) {
            (ContentBlock::Text { text }, Delta::TextDelta { text: more }) => text.push_str(more),
            (ContentBlock::Thinking { thinking, .. }, Delta::ThinkingDelta { thinking: more }) => {
                thinking.push_str(more);
            }
            (
                ContentBlock::Thinking { signature, .. },
                Delta::SignatureDelta { signature: more },
            ) => signature.push_str(more),
            (
                ContentBlock::ToolUse { .. } | ContentBlock::Unknown(_),
                Delta::InputJsonDelta { partial_json },
            ) => self.json.push_str(partial_json),
            // Citations are optional when the text is sent back, so we drop them;
            // unknown deltas and deltas to unknown blocks are tolerated likewise.
            (_, Delta::CitationsDelta { .. } | Delta::Unknown) | (ContentBlock::Unknown(_), _) => {}
            (block, delta) => {
                return Err(LlmError::Decode(format!(
                    "delta {delta:?} does not fit block {index} ({block:?})"
                )));
            }
        }
        Ok(())
    }
}

impl MessageAccumulator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one event. A mid-stream `error` event becomes [`LlmError::Stream`].
    pub fn push(&mut self, event: &StreamEvent) -> Result<(), LlmError> {
        match event {
            StreamEvent::MessageStart { message } => {
                self.started = Some((message.id.clone(), message.model.clone()));
                self.usage = message.usage.into();
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => {
                let block = PartialBlock {
                    block: content_block.clone(),
                    json: String::new(),
                    closed: false,
                };
                if self.blocks.insert(*index, block).is_some() {
                    return Err(LlmError::Decode(format!(
                        "content block {index} started twice"
                    )));
                }
            }
            StreamEvent::ContentBlockDelta { index, delta } => {
                self.block(*index)?.apply(*index, delta)?;
            }
            StreamEvent::ContentBlockStop { index } => self.block(*index)?.close()?,
            StreamEvent::MessageDelta { delta, usage } => {
                if let Some(reason) = &delta.stop_reason {
                    self.stop_reason = Some(reason.clone());
                }
                self.usage.apply(usage);
            }
            StreamEvent::MessageStop => self.stopped = true,
            StreamEvent::Ping | StreamEvent::Unknown => {}
            StreamEvent::Error { error } => {
                return Err(LlmError::Stream {
                    kind: error.kind.clone(),
                    message: error.message.clone(),
                });
            }
        }
        Ok(())
    }

    fn block(&mut self, index: usize) -> Result<&mut PartialBlock, LlmError> {
        self.blocks.get_mut(&index).ok_or_else(|| {
            LlmError::Decode(format!("event for content block {index} before its start"))
        })
    }

    /// The finished message; [`LlmError::StreamEnded`] if `message_stop` never came.
    pub fn finish(mut self) -> Result<AssistantMessage, LlmError> {
        if !self.stopped {
            return Err(LlmError::StreamEnded);
        }
        let Some((id, model)) = self.started.take() else {
            return Err(LlmError::Decode(
                "message_stop without message_start".into(),
            ));
        };
        let mut content = Vec::with_capacity(self.blocks.len());
        for (_, mut block) in std::mem::take(&mut self.blocks) {
            block.close()?;
            content.push(block.block);
        }
        Ok(AssistantMessage {
            id,
            model,
            content,
            // message_delta always carries one; "unknown" marks a broken peer.
            stop_reason: self
                .stop_reason
                .unwrap_or_else(|| StopReason::Other("unknown".into())),
            usage: self.usage,
        })
    }
}

/// Drains an event stream into the finished message.
pub async fn collect(mut events: EventStream) -> Result<AssistantMessage, LlmError> {
    let mut acc = MessageAccumulator::new();
    while let Some(event) = events.next().await {
        acc.push(&event?)?;
    }
    acc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn feed(events: Vec<serde_json::Value>) -> Result<AssistantMessage, LlmError> {
        let mut acc = MessageAccumulator::new();
        for event in events {
            acc.push(&serde_json::from_value(event).unwrap())?;
        }
        acc.finish()
    }

    fn start() -> serde_json::Value {
        json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "content": [], "stop_reason": null, "usage": {"input_tokens": 10, "output_tokens": 1, "cache_read_input_tokens": 3}}})
    }

    #[test]
    fn tool_input_is_parsed_once_concatenated() {
        let msg = feed(vec![
            start(),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "t1", "name": "bash", "input": {}}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": ""}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"comm"}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "and\": \"ls\"}"}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "t2", "name": "noargs", "input": {}}}),
            json!({"type": "content_block_stop", "index": 1}),
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 30}}),
            json!({"type": "message_stop"}),
        ])
        .unwrap();
        assert_eq!(
            msg.content,
            vec![
                ContentBlock::ToolUse {
                    id: "t1".into(),
                    name: "bash".into(),
                    input: json!({"command": "ls"})
                },
                ContentBlock::ToolUse {
                    id: "t2".into(),
                    name: "noargs".into(),
                    input: json!({})
                },
            ]
        );
        assert_eq!(msg.stop_reason, StopReason::ToolUse);
        assert_eq!(
            msg.usage,
            TokenUsage {
                input_tokens: 10,
                output_tokens: 30,
                cache_creation_input_tokens: 0,
                cache_read_input_tokens: 3
            }
        );
    }

    #[test]
    fn a_stream_without_message_stop_is_an_error() {
        assert_eq!(feed(vec![start()]), Err(LlmError::StreamEnded));
    }

    #[test]
    fn unknown_blocks_collect_their_streamed_input() {
        let msg = feed(vec![
            start(),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "server_tool_use", "id": "s1", "name": "web_search", "input": {}}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"query\": \"rust\"}"}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "something_new"}),
            json!({"type": "message_delta", "delta": {"stop_reason": "pause_turn"}, "usage": {"output_tokens": 2}}),
            json!({"type": "message_stop"}),
        ])
        .unwrap();
        assert_eq!(
            serde_json::to_value(&msg.content).unwrap(),
            json!([{"type": "server_tool_use", "id": "s1", "name": "web_search", "input": {"query": "rust"}}])
        );
    }

    #[test]
    fn mismatched_deltas_and_bad_json_are_decode_errors() {
        let text_start = json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}});
        let bad_delta = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "x"}});
        assert!(matches!(
            feed(vec![start(), text_start, bad_delta]),
            Err(LlmError::Decode(_))
        ));
        let tool_start = json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "t", "name": "n", "input": {}}});
        let half = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"a\":"}});
        let stop = json!({"type": "content_block_stop", "index": 0});
        assert!(matches!(
            feed(vec![start(), tool_start, half, stop]),
            Err(LlmError::Decode(_))
        ));
    }

    #[test]
    fn error_events_become_stream_errors() {
        let err = feed(vec![
            start(),
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        ]);
        assert!(
            matches!(err, Err(LlmError::Stream { ref kind, .. }) if *kind == crate::error::ApiErrorKind::Overloaded)
        );
    }
}
