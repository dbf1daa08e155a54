use agentd_llm::{ContentBlock, ModelClient, StopReason, TokenUsage};
use agentd_testkit::{Failure, FakeAnthropic, turn};
use pretty_assertions::assert_eq;
use serde_json::json;

use crate::{client, request};

#[tokio::test]
async fn non_streaming_create_returns_the_whole_message() {
    let fake = FakeAnthropic::start().await;
    fake.push(Failure::overloaded());
    fake.push(
        turn()
            .text("done")
            .tool_use("bash", json!({"command": "pwd"}))
            .usage(10, 5, 0, 3),
    );
    let message = client(&fake)
        .create(&request("claude-haiku-4-5"))
        .await
        .unwrap();
    assert_eq!(
        message.content,
        vec![
            ContentBlock::text("done"),
            ContentBlock::ToolUse {
                id: "toolu_01".into(),
                name: "bash".into(),
                input: json!({"command": "pwd"})
            },
        ]
    );
    assert_eq!(message.stop_reason, StopReason::ToolUse);
    assert_eq!(
        message.usage,
        TokenUsage {
            input_tokens: 10,
            output_tokens: 5,
            cache_creation_input_tokens: 3,
            cache_read_input_tokens: 0
        }
    );
    let bodies = fake.message_requests();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[1]["stream"], false);
}

#[tokio::test]
async fn count_tokens_posts_to_its_endpoint_without_generation_fields() {
    let fake = FakeAnthropic::start().await;
    let count = client(&fake)
        .count_tokens(&request("claude-sonnet-4-5"))
        .await
        .unwrap();
    assert!(count > 10, "{count}");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/messages/count_tokens");
    assert_eq!(requests[0].body.get("max_tokens"), None);
    assert_eq!(requests[0].body.get("stream"), None);
    assert_eq!(fake.pending_replies(), 0);
}
