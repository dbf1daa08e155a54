//! What the client sends, asserted on the body the fake recorded.

use agentd_llm::{ContentBlock, Message, ModelClient, collect};
use agentd_testkit::{FakeOpenAi, turn};
use pretty_assertions::assert_eq;
use serde_json::json;

use crate::{client, client_with, request};

#[tokio::test]
async fn a_tool_loop_conversation_is_sent_as_chat_messages() {
    let fake = FakeOpenAi::start().await;
    fake.push(turn().text("done"));
    let mut req = request("openai:qwen2.5-coder:7b");
    req.messages.push(Message::assistant(vec![
        ContentBlock::Thinking {
            thinking: "private".into(),
            signature: "sig".into(),
        },
        ContentBlock::text("Running both."),
        ContentBlock::ToolUse {
            id: "call_1".into(),
            name: "bash".into(),
            input: json!({"command": "ls"}),
        },
        ContentBlock::ToolUse {
            id: "call_2".into(),
            name: "read_file".into(),
            input: json!({"path": "a.txt"}),
        },
    ]));
    req.messages.push(Message::user(vec![
        ContentBlock::tool_result("call_1", "a.txt", false),
        ContentBlock::tool_result("call_2", "hello", false),
        ContentBlock::text("Now summarise."),
    ]));
    collect(client(&fake).stream(&req).await.unwrap())
        .await
        .unwrap();
    let body = fake.message_requests().remove(0);
    assert_eq!(
        body,
        json!({
            "model": "qwen2.5-coder:7b",
            "stream": true,
            "stream_options": {"include_usage": true},
            "tools": [
                {"type": "function", "function": {"name": "bash", "description": "Run a shell command",
                    "parameters": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}},
                {"type": "function", "function": {"name": "read_file", "description": "Read a file",
                    "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}}
            ],
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "list the files"},
                {"role": "assistant", "content": "Running both.", "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "bash", "arguments": "{\"command\":\"ls\"}"}},
                    {"id": "call_2", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"a.txt\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "a.txt"},
                {"role": "tool", "tool_call_id": "call_2", "content": "hello"},
                {"role": "user", "content": "Now summarise."}
            ]
        })
    );
}

#[tokio::test]
async fn the_key_goes_in_a_bearer_header_to_chat_completions() {
    let fake = FakeOpenAi::start().await;
    fake.push(turn().text("ok"));
    client(&fake).create(&request("m")).await.unwrap();
    let seen = &fake.requests()[0];
    assert_eq!(seen.path, "/v1/chat/completions");
    assert_eq!(
        seen.header("authorization"),
        Some("Bearer sk-openai-test-key-0000")
    );
    assert_eq!(seen.header("x-stainless-retry-count"), Some("0"));
}

#[tokio::test]
async fn without_a_key_no_authorization_is_sent() {
    let fake = FakeOpenAi::start().await;
    fake.set_require_auth(false);
    fake.push(turn().text("local and keyless"));
    let client = client_with(&fake, |config| config.api_key = None);
    collect(client.stream(&request("m")).await.unwrap())
        .await
        .unwrap();
    assert_eq!(fake.requests()[0].header("authorization"), None);
}
