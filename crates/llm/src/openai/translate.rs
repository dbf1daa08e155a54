//! Turns Chat Completions chunks into the [`StreamEvent`] sequence an
//! Anthropic stream would carry, so [`MessageAccumulator`](crate::MessageAccumulator)
//! and the core's turn loop work unchanged.
//!
//! Text streams as it arrives. Tool calls are held until `finish_reason`
//! (or the end of the stream), because their fragments may interleave and
//! the quirks in [`super::calls`] are only resolved once all have arrived;
//! each is then emitted as start, one `input_json_delta` per fragment, stop.

use serde_json::json;

use crate::error::LlmError;
use crate::messages::ContentBlock;
use crate::openai::calls::ToolCalls;
use crate::openai::wire::Chunk;
use crate::stream::{Delta, MessageDeltaBody, MessageStart, StopReason, StreamEvent, UsageUpdate};

#[derive(Debug)]
pub(crate) struct Translator {
    request_model: String,
    started: bool,
    next_index: usize,
    /// The block index of the text block being streamed, if any.
    open_text: Option<usize>,
    calls: ToolCalls,
    emitted_calls: bool,
    finish: Option<StopReason>,
    usage: UsageUpdate,
}

impl Translator {
    /// `request_model` names the message when the server's chunks do not.
    pub fn new(request_model: impl Into<String>) -> Self {
        Self {
            request_model: request_model.into(),
            started: false,
            next_index: 0,
            open_text: None,
            calls: ToolCalls::default(),
            emitted_calls: false,
            finish: None,
            usage: UsageUpdate::default(),
        }
    }

    /// Applies one chunk, appending the events it implies to `out`.
    pub fn chunk(&mut self, chunk: Chunk, out: &mut Vec<StreamEvent>) -> Result<(), LlmError> {
        if let Some(error) = chunk.error {
            return Err(LlmError::Stream {
                kind: error.stream_kind(),
                message: error.message.unwrap_or_default(),
            });
        }
        self.start(&chunk, out);
        if let Some(usage) = chunk.usage {
            // Totals, possibly on every chunk (vLLM's continuous usage stats).
            let update = UsageUpdate::from(usage);
            self.usage = UsageUpdate {
                input_tokens: update.input_tokens.or(self.usage.input_tokens),
                output_tokens: update.output_tokens.or(self.usage.output_tokens),
                cache_creation_input_tokens: None,
                cache_read_input_tokens: update
                    .cache_read_input_tokens
                    .or(self.usage.cache_read_input_tokens),
            };
        }
        // agentd never asks for n > 1; other choices would be alternatives.
        for choice in chunk
            .choices
            .into_iter()
            .filter(|choice| choice.index.unwrap_or(0) == 0)
        {
            let delta = choice.delta;
            for text in [delta.content, delta.refusal].into_iter().flatten() {
                self.text(text, out);
            }
            for (position, call) in delta.tool_calls.into_iter().enumerate() {
                self.calls.push(position, call);
            }
            if let Some(reason) = choice.finish_reason {
                self.finish = Some(reason.into());
                // Usage may still follow; the message ends at `[DONE]`.
                self.flush(out);
            }
        }
        Ok(())
    }

    /// `data: [DONE]`: closes every block and the message.
    pub fn done(&mut self, out: &mut Vec<StreamEvent>) {
        self.start(&Chunk::default(), out);
        self.flush(out);
        let stop_reason = match self.finish.take() {
            // Some servers (older Ollama among them) say `stop` after tool
            // calls; the calls must still run, so the turn continues.
            Some(StopReason::EndTurn) | None if self.emitted_calls => StopReason::ToolUse,
            Some(reason) => reason,
            None => StopReason::EndTurn,
        };
        out.push(StreamEvent::MessageDelta {
            delta: MessageDeltaBody {
                stop_reason: Some(stop_reason),
                stop_sequence: None,
            },
            usage: self.usage,
        });
        out.push(StreamEvent::MessageStop);
    }

    /// The body closed without `[DONE]`: complete if a `finish_reason` came
    /// (some servers skip the marker), [`LlmError::StreamEnded`] otherwise.
    pub fn end_of_body(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), LlmError> {
        if self.finish.is_none() {
            return Err(LlmError::StreamEnded);
        }
        self.done(out);
        Ok(())
    }

    fn start(&mut self, chunk: &Chunk, out: &mut Vec<StreamEvent>) {
        if self.started {
            return;
        }
        self.started = true;
        let non_empty = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
        out.push(StreamEvent::MessageStart {
            message: MessageStart {
                id: non_empty(&chunk.id)
                    .unwrap_or_else(|| format!("chatcmpl-agentd-{:016x}", rand::random::<u64>())),
                model: non_empty(&chunk.model).unwrap_or_else(|| self.request_model.clone()),
                usage: UsageUpdate::default(),
            },
        });
    }

    fn text(&mut self, text: String, out: &mut Vec<StreamEvent>) {
        // The first chunk often carries `content: ""` with the role.
        if text.is_empty() {
            return;
        }
        let index = match self.open_text {
            Some(index) => index,
            None => {
                let index = self.next_block();
                out.push(StreamEvent::ContentBlockStart {
                    index,
                    content_block: ContentBlock::text(""),
                });
                self.open_text = Some(index);
                index
            }
        };
        out.push(StreamEvent::ContentBlockDelta {
            index,
            delta: Delta::TextDelta { text },
        });
    }

    /// Closes the text block and emits every tool call gathered so far.
    fn flush(&mut self, out: &mut Vec<StreamEvent>) {
        if let Some(index) = self.open_text.take() {
            out.push(StreamEvent::ContentBlockStop { index });
        }
        for call in self.calls.take() {
            let index = self.next_block();
            out.push(StreamEvent::ContentBlockStart {
                index,
                content_block: ContentBlock::ToolUse {
                    id: call.id,
                    name: call.name,
                    input: json!({}),
                },
            });
            out.extend(call.fragments.into_iter().map(|partial_json| {
                StreamEvent::ContentBlockDelta {
                    index,
                    delta: Delta::InputJsonDelta { partial_json },
                }
            }));
            out.push(StreamEvent::ContentBlockStop { index });
            self.emitted_calls = true;
        }
    }

    fn next_block(&mut self) -> usize {
        let index = self.next_index;
        self.next_index += 1;
        index
    }

    /// Whether tool calls are still held back (for tests of the flush point).
    #[cfg(test)]
    fn holds_calls(&self) -> bool {
        !self.calls.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accumulator::MessageAccumulator;
    use crate::stream::{AssistantMessage, TokenUsage};
    use pretty_assertions::assert_eq;
    use serde_json::Value;

    fn run(
        chunks: Vec<Value>,
        done: bool,
    ) -> (Vec<StreamEvent>, Result<AssistantMessage, LlmError>) {
        let mut translator = Translator::new("requested");
        let mut events = Vec::new();
        for chunk in chunks {
            translator
                .chunk(serde_json::from_value(chunk).unwrap(), &mut events)
                .unwrap();
        }
        let end = if done {
            translator.done(&mut events);
            Ok(())
        } else {
            translator.end_of_body(&mut events)
        };
        let mut acc = MessageAccumulator::new();
        let message = end.and_then(|()| {
            for event in &events {
                acc.push(event)?;
            }
            acc.finish()
        });
        (events, message)
    }

    fn delta(delta: Value, finish: Option<&str>) -> Value {
        json!({"id": "chatcmpl-1", "model": "llama", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    }

    #[test]
    fn text_then_calls_make_an_anthropic_shaped_stream() {
        let (events, message) = run(
            vec![
                delta(json!({"role": "assistant", "content": ""}), None),
                delta(json!({"content": "Let me look."}), None),
                delta(
                    json!({"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "read", "arguments": "{\"p\":"}}]}),
                    None,
                ),
                delta(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}),
                    None,
                ),
                delta(json!({}), Some("tool_calls")),
                json!({"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 5}}),
            ],
            true,
        );
        let kinds: Vec<&str> = events
            .iter()
            .map(|e| match e {
                StreamEvent::MessageStart { .. } => "start",
                StreamEvent::ContentBlockStart { .. } => "block_start",
                StreamEvent::ContentBlockDelta { .. } => "delta",
                StreamEvent::ContentBlockStop { .. } => "block_stop",
                StreamEvent::MessageDelta { .. } => "message_delta",
                StreamEvent::MessageStop => "stop",
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "start",
                "block_start",
                "delta",
                "block_stop",
                "block_start",
                "delta",
                "delta",
                "block_stop",
                "message_delta",
                "stop"
            ]
        );
        let message = message.unwrap();
        assert_eq!(message.id, "chatcmpl-1");
        assert_eq!(message.model, "llama");
        assert_eq!(message.stop_reason, StopReason::ToolUse);
        assert_eq!(
            message.content,
            vec![
                ContentBlock::text("Let me look."),
                ContentBlock::ToolUse {
                    id: "call_1".into(),
                    name: "read".into(),
                    input: json!({"p": 1})
                }
            ]
        );
        assert_eq!(
            message.usage,
            TokenUsage {
                input_tokens: 12,
                output_tokens: 5,
                ..TokenUsage::default()
            }
        );
    }

    #[test]
    fn calls_are_held_until_finish_reason() {
        let mut translator = Translator::new("m");
        let mut events = Vec::new();
        let call = delta(
            json!({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f"}}]}),
            None,
        );
        translator
            .chunk(serde_json::from_value(call).unwrap(), &mut events)
            .unwrap();
        assert!(translator.holds_calls());
        assert_eq!(events.len(), 1, "only message_start so far: {events:?}");
        translator
            .chunk(
                serde_json::from_value(delta(json!({}), Some("tool_calls"))).unwrap(),
                &mut events,
            )
            .unwrap();
        assert!(!translator.holds_calls());
    }

    #[test]
    fn stop_after_tool_calls_still_means_tool_use() {
        let (_, message) = run(
            vec![delta(
                json!({"tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}]}),
                Some("stop"),
            )],
            true,
        );
        assert_eq!(message.unwrap().stop_reason, StopReason::ToolUse);
    }

    #[test]
    fn a_finished_body_without_done_is_complete_but_an_unfinished_one_is_not() {
        let (_, message) = run(vec![delta(json!({"content": "hi"}), Some("length"))], false);
        assert_eq!(message.unwrap().stop_reason, StopReason::MaxTokens);
        let (_, message) = run(vec![delta(json!({"content": "hi"}), None)], false);
        assert_eq!(message, Err(LlmError::StreamEnded));
    }

    #[test]
    fn an_error_chunk_is_a_stream_error() {
        let mut translator = Translator::new("m");
        let error: Chunk =
            serde_json::from_value(json!({"error": {"message": "boom", "type": "server_error"}}))
                .unwrap();
        let err = translator.chunk(error, &mut Vec::new()).unwrap_err();
        assert!(err.is_retryable());
        assert!(matches!(err, LlmError::Stream { ref message, .. } if message == "boom"));
    }
}
