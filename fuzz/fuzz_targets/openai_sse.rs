//! An OpenAI-compatible Chat Completions stream as the client reads it:
//! SSE framing, chunk JSON, the translation into Anthropic-shaped events,
//! then the accumulator.
//!
//! Input: one byte that decides how the body is cut into reads, then the
//! body. Invariants: nothing panics; the output does not depend on where
//! the reads were cut; the stream ends at its first error or at
//! `message_stop`; and the translator's events always fit together — the
//! accumulator may refuse a tool input that is not JSON (the model's
//! fault), never the event order (ours).
#![no_main]

use std::time::Duration;

use agentd_fuzz::{collect_events, reads};
use agentd_llm::fuzzing::decode_openai_sse;
use agentd_llm::{ContentBlock, LlmError, MessageAccumulator, StreamEvent};
use libfuzzer_sys::fuzz_target;

/// Never reached: the body is in memory, so no read waits.
const IDLE: Duration = Duration::from_secs(3600);

fn decode(reads: Vec<Result<Vec<u8>, String>>) -> Vec<Result<StreamEvent, LlmError>> {
    let mut events = collect_events(|bytes| decode_openai_sse(bytes, "m".into(), IDLE), reads);
    // A message or tool call that comes without an id gets a random one;
    // the rest of the output must not depend on the reads.
    for event in &mut events {
        match event {
            Ok(StreamEvent::MessageStart { message })
                if message.id.starts_with("chatcmpl-agentd-") =>
            {
                message.id = "chatcmpl-agentd-random".into();
            }
            Ok(StreamEvent::ContentBlockStart {
                content_block: ContentBlock::ToolUse { id, .. },
                ..
            }) if id.starts_with("call_agentd_") => *id = "call_agentd_random".into(),
            _ => {}
        }
    }
    events
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, body)) = data.split_first() else {
        return;
    };
    let whole = decode(vec![Ok(body.to_vec())]);
    let split = decode(reads(body, seed, 16));
    assert_eq!(whole, split, "the events depend on how the body was read");

    for (i, item) in whole.iter().enumerate() {
        let terminal = matches!(item, Ok(StreamEvent::MessageStop) | Err(_));
        assert!(
            !terminal || i + 1 == whole.len(),
            "the stream went on after {item:?}"
        );
    }

    let mut accumulator = MessageAccumulator::new();
    for item in &whole {
        let Ok(event) = item else { return };
        if let Err(err) = accumulator.push(event) {
            let tool_json = matches!(&err, LlmError::Decode(m) if m.starts_with("tool input is not valid JSON"));
            assert!(
                tool_json,
                "translated events do not fit: {err} in {whole:?}"
            );
            return;
        }
    }
    if matches!(whole.last(), Some(Ok(StreamEvent::MessageStop))) {
        let message = accumulator.finish();
        assert!(
            message.is_ok(),
            "a stopped translation did not finish: {message:?}"
        );
    }
});
