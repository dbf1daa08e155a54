use agentd_llm::{ContentBlock, Delta, ModelClient, StopReason, StreamEvent, TokenUsage, collect};
use agentd_testkit::{FakeOpenAi, turn};
use futures::StreamExt;
use pretty_assertions::assert_eq;
use serde_json::json;

use crate::{client, request};

fn two_calls() -> agentd_testkit::Turn {
    turn()
        .text("Let me look around.")
        .tool_use_with_id("call_ls", "bash", json!({"command": "ls -la"}))
        .tool_use_with_id("call_rd", "read_file", json!({"path": "src/main.rs"}))
        .usage(120, 30, 0, 0)
}

pub fn expected_content() -> Vec<ContentBlock> {
    vec![
        ContentBlock::text("Let me look around."),
        ContentBlock::ToolUse {
            id: "call_ls".into(),
            name: "bash".into(),
            input: json!({"command": "ls -la"}),
        },
        ContentBlock::ToolUse {
            id: "call_rd".into(),
            name: "read_file".into(),
            input: json!({"path": "src/main.rs"}),
        },
    ]
}

#[tokio::test]
async fn text_and_two_parallel_calls_make_one_tool_use_message() {
    let fake = FakeOpenAi::start().await;
    fake.push(two_calls());
    let events = client(&fake)
        .stream(&request("openai:llama3.1"))
        .await
        .unwrap();
    let message = collect(events).await.unwrap();
    assert_eq!(message.content, expected_content());
    assert_eq!(message.stop_reason, StopReason::ToolUse);
    assert_eq!(message.model, "llama3.1");
    assert_eq!(message.id, "chatcmpl-testkit-0001");
    assert_eq!(
        message.usage,
        TokenUsage {
            input_tokens: 120,
            output_tokens: 30,
            ..TokenUsage::default()
        }
    );
}

#[tokio::test]
async fn events_follow_the_anthropic_sequence() {
    let fake = FakeOpenAi::start().await;
    fake.push(two_calls());
    let events: Vec<StreamEvent> = client(&fake)
        .stream(&request("m"))
        .await
        .unwrap()
        .map(Result::unwrap)
        .collect()
        .await;
    assert!(matches!(
        events.first(),
        Some(StreamEvent::MessageStart { .. })
    ));
    assert_eq!(events.last(), Some(&StreamEvent::MessageStop));
    let starts: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ContentBlockStart { index, .. } => Some(*index),
            _ => None,
        })
        .collect();
    assert_eq!(starts, [0, 1, 2]);
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ContentBlockDelta {
                index: 0,
                delta: Delta::TextDelta { text },
            } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "Let me look around.");
    let json_pieces = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                StreamEvent::ContentBlockDelta {
                    index: 1,
                    delta: Delta::InputJsonDelta { .. }
                }
            )
        })
        .count();
    assert!(json_pieces >= 2, "arguments arrive in pieces: {events:?}");
    assert!(matches!(
        &events[events.len() - 2],
        StreamEvent::MessageDelta { delta, .. } if delta.stop_reason == Some(StopReason::ToolUse)
    ));
}

#[tokio::test]
async fn finish_reasons_map_to_stop_reasons() {
    let fake = FakeOpenAi::start().await;
    for (script, expected) in [
        ("end_turn", StopReason::EndTurn),
        ("length", StopReason::MaxTokens),
        ("content_filter", StopReason::Refusal),
    ] {
        fake.push(turn().text("x").stop_reason(script));
        let message = collect(client(&fake).stream(&request("m")).await.unwrap())
            .await
            .unwrap();
        assert_eq!(message.stop_reason, expected, "{script}");
    }
}

#[tokio::test]
async fn thinking_blocks_are_not_sent_by_the_fake() {
    let fake = FakeOpenAi::start().await;
    fake.push(turn().thinking("hmm", "sig").text("done"));
    let message = collect(client(&fake).stream(&request("m")).await.unwrap())
        .await
        .unwrap();
    assert_eq!(message.content, vec![ContentBlock::text("done")]);
    assert_eq!(message.stop_reason, StopReason::EndTurn);
}

#[tokio::test]
async fn create_returns_the_same_message_without_streaming() {
    let fake = FakeOpenAi::start().await;
    fake.push(two_calls());
    let message = client(&fake).create(&request("m")).await.unwrap();
    assert_eq!(message.content, expected_content());
    assert_eq!(message.stop_reason, StopReason::ToolUse);
    assert_eq!(message.usage.input_tokens, 120);
    let body = &fake.message_requests()[0];
    assert_eq!(body["stream"], false);
    assert!(body.get("stream_options").is_none());
}

#[tokio::test]
async fn count_tokens_estimates_without_a_request() {
    let fake = FakeOpenAi::start().await;
    let estimate = client(&fake).count_tokens(&request("m")).await.unwrap();
    assert!(estimate > 10, "{estimate}");
    assert!(fake.requests().is_empty());
}
