//! Each local-server quirk alone and combined: the message must come out
//! the same as from a well-behaved server.

use agentd_llm::{ModelClient, StopReason, TokenUsage, collect};
use agentd_testkit::{FakeOpenAi, Quirk, WithQuirks, turn};
use pretty_assertions::assert_eq;
use serde_json::json;

use crate::streaming::expected_content;
use crate::{client, request};

const ALL_TOOL_CALL_QUIRKS: [Quirk; 5] = [
    Quirk::MissingIndex,
    Quirk::RepeatedIndexZero,
    Quirk::WholeCallInOneChunk,
    Quirk::EmptyIdOnContinuation,
    Quirk::StopWithToolCalls,
];

fn script() -> agentd_testkit::Turn {
    turn()
        .text("Let me look around.")
        .tool_use_with_id("call_ls", "bash", json!({"command": "ls -la"}))
        .tool_use_with_id("call_rd", "read_file", json!({"path": "src/main.rs"}))
        .usage(100, 20, 30, 0)
}

async fn run(fake: &FakeOpenAi) -> agentd_llm::AssistantMessage {
    collect(client(fake).stream(&request("m")).await.unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn each_tool_call_quirk_alone_yields_the_same_message() {
    let fake = FakeOpenAi::start().await;
    for quirk in ALL_TOOL_CALL_QUIRKS {
        fake.push(script().quirk(quirk));
        let message = run(&fake).await;
        assert_eq!(message.content, expected_content(), "{quirk:?}");
        assert_eq!(message.stop_reason, StopReason::ToolUse, "{quirk:?}");
    }
}

#[tokio::test]
async fn usage_chunk_quirks_keep_or_drop_usage() {
    let fake = FakeOpenAi::start().await;
    let full = TokenUsage {
        input_tokens: 100,
        output_tokens: 20,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 30,
    };
    for (quirk, usage) in [
        (Quirk::NullChoicesInUsage, full),
        (Quirk::MissingChoicesInUsage, full),
        (Quirk::NoUsage, TokenUsage::default()),
        (Quirk::NoDoneMarker, full),
    ] {
        fake.push(script().quirk(quirk));
        let message = run(&fake).await;
        assert_eq!(message.content, expected_content(), "{quirk:?}");
        assert_eq!(message.usage, usage, "{quirk:?}");
    }
}

#[tokio::test]
async fn quirks_combine_per_turn_and_per_fake() {
    let fake = FakeOpenAi::start().await;
    fake.set_quirks([Quirk::NullChoicesInUsage, Quirk::EmptyIdOnContinuation]);
    let combos: [&[Quirk]; 4] = [
        &[Quirk::MissingIndex, Quirk::WholeCallInOneChunk],
        &[
            Quirk::RepeatedIndexZero,
            Quirk::WholeCallInOneChunk,
            Quirk::StopWithToolCalls,
        ],
        &[Quirk::MissingIndex, Quirk::NoUsage, Quirk::NoDoneMarker],
        &[Quirk::RepeatedIndexZero, Quirk::MissingChoicesInUsage],
    ];
    for combo in combos {
        let mut reply = agentd_testkit::OpenAiReply::from(script());
        for quirk in combo {
            reply = reply.quirk(*quirk);
        }
        fake.push(reply);
        let message = run(&fake).await;
        assert_eq!(message.content, expected_content(), "{combo:?}");
        assert_eq!(message.stop_reason, StopReason::ToolUse, "{combo:?}");
    }
}

#[tokio::test]
async fn missing_index_with_generated_ids_still_separates_calls() {
    let fake = FakeOpenAi::start().await;
    fake.set_quirks([Quirk::MissingIndex, Quirk::RepeatedIndexZero]);
    fake.push(
        turn()
            .tool_use("bash", json!({"command": "pwd"}))
            .tool_use("bash", json!({"command": "whoami"})),
    );
    let message = run(&fake).await;
    let inputs: Vec<_> = message
        .content
        .iter()
        .map(|b| match b {
            agentd_llm::ContentBlock::ToolUse { id, input, .. } => (id.clone(), input.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        inputs,
        [
            ("call_testkit_01".to_owned(), json!({"command": "pwd"})),
            ("call_testkit_02".to_owned(), json!({"command": "whoami"})),
        ]
    );
}
