use agentd_llm::{
    AssistantMessage, ContentBlock, ModelClient, StopReason, StreamEvent, TokenUsage, collect,
};
use agentd_testkit::{FakeAnthropic, turn};
use futures::StreamExt;
use pretty_assertions::assert_eq;
use serde_json::json;

use crate::{client, request};

#[tokio::test]
async fn a_streamed_turn_accumulates_exactly() {
    let fake = FakeAnthropic::start().await;
    fake.push(
        turn()
            .thinking("let me see what is here", "sig-1")
            .text("I'll run it and report back")
            .tool_use("bash", json!({"command": "ls -la", "timeout": 30}))
            .usage(120, 45, 1000, 200),
    );
    let events = client(&fake)
        .stream(&request("claude-sonnet-4-5"))
        .await
        .unwrap();
    let message = collect(events).await.unwrap();
    assert_eq!(
        message,
        AssistantMessage {
            id: "msg_testkit_0001".into(),
            model: "claude-sonnet-4-5".into(),
            content: vec![
                ContentBlock::Thinking {
                    thinking: "let me see what is here".into(),
                    signature: "sig-1".into()
                },
                ContentBlock::text("I'll run it and report back"),
                ContentBlock::ToolUse {
                    id: "toolu_01".into(),
                    name: "bash".into(),
                    input: json!({"command": "ls -la", "timeout": 30}),
                },
            ],
            stop_reason: StopReason::ToolUse,
            usage: TokenUsage {
                input_tokens: 120,
                output_tokens: 45,
                cache_creation_input_tokens: 200,
                cache_read_input_tokens: 1000,
            },
        }
    );
}

#[tokio::test]
async fn the_stream_splits_blocks_into_deltas_and_drops_pings() {
    let fake = FakeAnthropic::start().await;
    fake.push(
        turn()
            .text("a text long enough to be split")
            .stop_reason("max_tokens"),
    );
    let events: Vec<StreamEvent> = client(&fake)
        .stream(&request("claude-haiku-4-5"))
        .await
        .unwrap()
        .map(Result::unwrap)
        .collect()
        .await;
    let deltas = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::ContentBlockDelta { .. }))
        .count();
    assert!(deltas >= 2, "{events:?}");
    assert!(!events.contains(&StreamEvent::Ping));
    assert_eq!(events.last(), Some(&StreamEvent::MessageStop));
}

#[tokio::test]
async fn tool_ids_are_deterministic_per_fake() {
    let fake = FakeAnthropic::start().await;
    fake.push(
        turn()
            .tool_use("a", json!({}))
            .tool_use("b", json!({"x": 1})),
    );
    fake.push(turn().tool_use("c", json!({})));
    let client = client(&fake);
    let ids = |message: AssistantMessage| -> Vec<String> {
        message
            .content
            .into_iter()
            .filter_map(|block| match block {
                ContentBlock::ToolUse { id, .. } => Some(id),
                _ => None,
            })
            .collect()
    };
    let first = collect(client.stream(&request("m")).await.unwrap())
        .await
        .unwrap();
    let second = collect(client.stream(&request("m")).await.unwrap())
        .await
        .unwrap();
    assert_eq!(ids(first), ["toolu_01", "toolu_02"]);
    assert_eq!(ids(second), ["toolu_03"]);
}
