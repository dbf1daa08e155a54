//! Claude Code's stdout in stream-json mode: each line parsed as the
//! process reads it and mapped to agentd events, then the end of the
//! stream.
//!
//! Input: NDJSON, as the CLI writes it. Lines that are not JSON are
//! dropped first, as the process's reader drops them (logged).
//! Invariants: nothing panics; every event the mapper makes survives a
//! JSON round trip unchanged, because that is how it is stored and
//! replayed.
#![no_main]

use agentd_claude::ClaudeEvent;
use agentd_protocol::EventData;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let json_lines: String = text
        .lines()
        .map(str::trim)
        .filter(|line| serde_json::from_str::<serde::de::IgnoredAny>(line).is_ok())
        .flat_map(|line| [line, "\n"])
        .collect();
    let events = match agentd_claude::testing::map_lines("/work", &json_lines) {
        Ok(events) => events,
        Err(err) => panic!("a JSON line was refused: {err}"),
    };
    for event in events {
        let ClaudeEvent::Event(data) = event else {
            continue;
        };
        let json = serde_json::to_string(&data).expect("events serialise");
        let back: EventData = serde_json::from_str(&json).expect("events deserialise");
        assert_eq!(back, data, "the event changed in a round trip: {json}");
    }
});
