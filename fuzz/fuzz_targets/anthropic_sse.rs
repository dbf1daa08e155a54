//! The Anthropic Messages stream as the client reads it: SSE framing,
//! event JSON, then the accumulator that builds the message.
//!
//! Input: one byte that decides how the body is cut into reads, then the
//! body. Invariants: nothing panics; the decoder's output does not depend
//! on where the reads were cut; the stream ends at its first error or at
//! `message_stop`; the accumulator finishes only a stopped message.
#![no_main]

use std::time::Duration;

use agentd_fuzz::{collect_events, reads};
use agentd_llm::fuzzing::decode_anthropic_sse;
use agentd_llm::{LlmError, MessageAccumulator, StreamEvent};
use libfuzzer_sys::fuzz_target;

/// Never reached: the body is in memory, so no read waits.
const IDLE: Duration = Duration::from_secs(3600);

fn decode(reads: Vec<Result<Vec<u8>, String>>) -> Vec<Result<StreamEvent, LlmError>> {
    collect_events(|bytes| decode_anthropic_sse(bytes, IDLE), reads)
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, body)) = data.split_first() else {
        return;
    };
    let whole = decode(vec![Ok(body.to_vec())]);
    let split = decode(reads(body, seed, 16));
    assert_eq!(whole, split, "the events depend on how the body was read");

    // Terminal items come last and only once.
    for (i, item) in whole.iter().enumerate() {
        let terminal = matches!(item, Ok(StreamEvent::MessageStop) | Err(_));
        assert!(
            !terminal || i + 1 == whole.len(),
            "the stream went on after {item:?}"
        );
        assert!(
            !matches!(item, Ok(StreamEvent::Ping | StreamEvent::Error { .. })),
            "{item:?} should never be yielded"
        );
    }

    let mut accumulator = MessageAccumulator::new();
    for item in &whole {
        let Ok(event) = item else { return };
        if accumulator.push(event).is_err() {
            return;
        }
    }
    let stopped = matches!(whole.last(), Some(Ok(StreamEvent::MessageStop)));
    if let Ok(message) = accumulator.finish() {
        assert!(
            stopped,
            "a message finished without message_stop: {message:?}"
        );
    }
});
