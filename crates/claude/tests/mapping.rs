//! The message → event mapping on NDJSON recorded from the real CLI
//! (2.1.330 against the testkit fake; trimmed: see fixtures/README.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use agentd_claude::testing::map_lines;
use agentd_claude::{ClaudeEvent, TurnResult};
use agentd_protocol::event::{FileChangeKind, FileChanged, ToolCompleted};
use agentd_protocol::{ErrorCode, EventData, TurnStopReason, Usage};
use pretty_assertions::assert_eq;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// One line per event, durations left out (they depend on the clock).
fn summary(events: &[ClaudeEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            ClaudeEvent::Event(EventData::MessageStarted(m)) => {
                format!("message.started {}", m.message_id)
            }
            ClaudeEvent::Event(EventData::MessageCompleted(m)) => {
                let kinds: Vec<&str> = m
                    .content
                    .iter()
                    .map(|b| b["type"].as_str().unwrap())
                    .collect();
                format!("message.completed {} [{}]", m.message_id, kinds.join(","))
            }
            ClaudeEvent::Event(EventData::TextDelta(d)) => format!("text.delta {:?}", d.text),
            ClaudeEvent::Event(EventData::ThinkingDelta(d)) => {
                format!("thinking.delta {:?}", d.text)
            }
            ClaudeEvent::Event(EventData::ToolStarted(t)) => {
                format!("tool.started {} {}", t.call_id, t.tool)
            }
            ClaudeEvent::Event(EventData::ToolCompleted(t)) => {
                format!("tool.completed {} {} ok={}", t.call_id, t.tool, t.ok)
            }
            ClaudeEvent::Event(EventData::FileChanged(f)) => {
                format!(
                    "file.changed {} {:?} +{} -{}",
                    f.path, f.change, f.lines_added, f.lines_removed
                )
            }
            ClaudeEvent::Event(other) => other.event_type().to_owned(),
            ClaudeEvent::TurnEnded(r) => format!("turn.ended {:?}", r.stop),
            ClaudeEvent::Exited { code, .. } => format!("exited {code:?}"),
        })
        .collect()
}

#[test]
fn a_turn_with_thinking_text_and_four_tools() {
    let events = map_lines("/tmp/cc-exp/ws", &fixture("tools_turn.ndjson")).unwrap();
    assert_eq!(
        summary(&events),
        [
            "message.started msg_testkit_0001",
            "thinking.delta \"I should wr\"",
            "thinking.delta \"ite a file\"",
            "text.delta \"Writin\"",
            "text.delta \"g it.\"",
            "message.completed msg_testkit_0001 [thinking,text,tool_use]",
            "tool.started toolu_01 Write",
            "tool.completed toolu_01 Write ok=true",
            "file.changed hello.txt Added +2 -0",
            "message.started msg_testkit_0002",
            "message.completed msg_testkit_0002 [tool_use]",
            "tool.started toolu_02 Read",
            "tool.completed toolu_02 Read ok=true",
            "message.started msg_testkit_0003",
            "message.completed msg_testkit_0003 [tool_use]",
            "tool.started toolu_03 Edit",
            "tool.completed toolu_03 Edit ok=true",
            "file.changed notes.txt Modified +2 -1",
            "message.started msg_testkit_0004",
            "message.completed msg_testkit_0004 [tool_use]",
            "tool.started toolu_04 Bash",
            "tool.completed toolu_04 Bash ok=false",
            "message.started msg_testkit_0005",
            "text.delta \"Don\"",
            "text.delta \"e.\"",
            "message.completed msg_testkit_0005 [text]",
            "turn.ended EndTurn",
        ]
    );
    let bash = events.iter().find_map(|e| match e {
        ClaudeEvent::Event(EventData::ToolCompleted(t)) if t.tool == "Bash" => Some(t.clone()),
        _ => None,
    });
    assert_eq!(
        bash.map(|t| ToolCompleted {
            duration_ms: 0,
            ..t
        }),
        Some(ToolCompleted {
            call_id: "toolu_04".into(),
            tool: "Bash".into(),
            ok: false,
            output: "Exit code 2\nls: cannot access '/nonexistent-dir': No such file or directory"
                .into(),
            duration_ms: 0,
        })
    );
    let Some(ClaudeEvent::TurnEnded(result)) = events.last() else {
        panic!("no turn end")
    };
    assert_eq!(
        result,
        &TurnResult {
            stop: TurnStopReason::EndTurn,
            usage: Usage {
                input_tokens: 115_778,
                output_tokens: 74,
                cache_read_tokens: 0,
                cache_write_tokens: 0,
                cost_usd: 0.348444,
            },
            is_error: false,
            error: None,
            session_id: "b0796ff1-9b9d-4aae-9621-3f63e2eaec1c".into(),
            text: "Done.".into(),
        }
    );
}

#[test]
fn a_rejected_key_ends_the_turn_with_model_authentication() {
    let events = map_lines("/ws", &fixture("api_error_401.ndjson")).unwrap();
    // The CLI's synthetic "Invalid API key" message is not a model message.
    assert_eq!(summary(&events), ["turn.ended Error"]);
    let Some(ClaudeEvent::TurnEnded(result)) = events.last() else {
        panic!()
    };
    assert!(result.is_error);
    assert_eq!(
        result.error,
        Some((
            ErrorCode::ModelAuthentication,
            "Invalid API key · Fix external API key".into()
        ))
    );
}

#[test]
fn an_interrupted_tool_call_is_a_cancelled_turn() {
    let events = map_lines("/ws", &fixture("interrupted.ndjson")).unwrap();
    assert_eq!(
        summary(&events),
        [
            "message.started msg_testkit_0001",
            "message.completed msg_testkit_0001 [tool_use]",
            "tool.started toolu_01 Bash",
            "tool.completed toolu_01 Bash ok=false",
            "turn.ended Cancelled",
        ]
    );
    let Some(ClaudeEvent::TurnEnded(result)) = events.last() else {
        panic!()
    };
    assert_eq!((result.is_error, &result.error), (false, &None));
}

#[test]
fn file_changes_are_workspace_relative() {
    let events = map_lines("/tmp/cc-exp/ws", &fixture("tools_turn.ndjson")).unwrap();
    let changes: Vec<FileChanged> = events
        .into_iter()
        .filter_map(|e| match e {
            ClaudeEvent::Event(EventData::FileChanged(f)) => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(
        changes,
        [
            FileChanged {
                path: "hello.txt".into(),
                change: FileChangeKind::Added,
                lines_added: 2,
                lines_removed: 0
            },
            FileChanged {
                path: "notes.txt".into(),
                change: FileChangeKind::Modified,
                lines_added: 2,
                lines_removed: 1
            },
        ]
    );
}
