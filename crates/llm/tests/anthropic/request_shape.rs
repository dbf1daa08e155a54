use agentd_llm::{AnthropicConfig, ContentBlock, Message, ModelClient, collect};
use agentd_testkit::{FakeAnthropic, turn};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::{client, client_with, request};

fn cache_markers(body: &Value) -> usize {
    body.to_string().matches("\"cache_control\"").count()
}

#[tokio::test]
async fn headers_carry_key_version_betas_and_retry_count() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().text("ok"));
    let client = client_with(&fake, |c| c.extra_betas = vec!["a-1".into(), "b-2".into()]);
    collect(client.stream(&request("m")).await.unwrap())
        .await
        .unwrap();
    let sent = &fake.requests()[0];
    assert_eq!(sent.header("x-api-key"), Some("sk-ant-test-key-0000"));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("anthropic-beta"), Some("a-1,b-2"));
    assert_eq!(sent.header("x-stainless-retry-count"), Some("0"));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.header("authorization"), None);
}

#[tokio::test]
async fn auth_tokens_go_as_bearer() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().text("ok"));
    let client = client_with(&fake, |c: &mut AnthropicConfig| {
        c.api_key = None;
        c.auth_token = Some(agentd_llm::ApiKey::new("tok-123"));
    });
    client.create(&request("m")).await.unwrap();
    let sent = &fake.requests()[0];
    assert_eq!(sent.header("authorization"), Some("Bearer tok-123"));
    assert_eq!(sent.header("x-api-key"), None);
}

#[tokio::test]
async fn cache_breakpoints_sit_on_tools_system_and_the_last_block() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().text("ok"));
    let mut req = request("claude-sonnet-4-5");
    req.messages = vec![
        Message::user_text("first"),
        Message::assistant(vec![ContentBlock::text("answer")]),
        Message::user(vec![
            ContentBlock::text("second"),
            ContentBlock::text("and more"),
        ]),
    ];
    collect(client(&fake).stream(&req).await.unwrap())
        .await
        .unwrap();
    let body = &fake.message_requests()[0];
    let eph = json!({"type": "ephemeral"});
    assert_eq!(body["tools"][0]["cache_control"], eph);
    assert_eq!(
        body["system"],
        json!([{"type": "text", "text": "You are terse.", "cache_control": eph}])
    );
    assert_eq!(body["messages"][2]["content"][1]["cache_control"], eph);
    assert_eq!(body["messages"][2]["content"][0].get("cache_control"), None);
    assert_eq!(cache_markers(body), 3);
    assert!(cache_markers(body) <= agentd_llm::request::MAX_CACHE_BREAKPOINTS);
}

#[tokio::test]
async fn thinking_follows_the_model_profile() {
    let fake = FakeAnthropic::start().await;
    fake.set_default(turn().text("ok"));
    let client = client(&fake);
    for model in [
        "claude-opus-4-7",
        "claude-sonnet-4-5-20250929",
        "claude-haiku-4-5",
    ] {
        collect(client.stream(&request(model)).await.unwrap())
            .await
            .unwrap();
    }
    let bodies = fake.message_requests();
    assert_eq!(bodies[0]["thinking"], json!({"type": "adaptive"}));
    assert_eq!(
        bodies[1]["thinking"],
        json!({"type": "enabled", "budget_tokens": 8000})
    );
    assert!(bodies[1]["max_tokens"].as_u64().unwrap() > 8000);
    assert_eq!(bodies[2].get("thinking"), None);
    assert!(bodies.iter().all(|b| b["stream"] == true));
}

#[tokio::test]
async fn thinking_and_unknown_blocks_are_sent_back_unchanged() {
    let fake = FakeAnthropic::start().await;
    let server_block = json!({"type": "server_tool_use", "id": "srvtoolu_9", "name": "web_search", "input": {"query": "rust sse"}});
    fake.push(
        turn()
            .thinking("weighing options", "sig-abc")
            .redacted_thinking("opaque-data")
            .raw_block(server_block.clone())
            .tool_use("bash", json!({"command": "ls"})),
    );
    fake.push(turn().text("all done"));
    let client = client(&fake);
    let mut req = request("claude-sonnet-4-5");
    let first = collect(client.stream(&req).await.unwrap()).await.unwrap();
    req.messages.push(first.to_message());
    req.messages
        .push(Message::user(vec![ContentBlock::tool_result(
            "toolu_01",
            "a.txt\nb.txt",
            false,
        )]));
    collect(client.stream(&req).await.unwrap()).await.unwrap();

    let follow_up = &fake.message_requests()[1];
    assert_eq!(
        follow_up["messages"][1],
        json!({"role": "assistant", "content": [
            {"type": "thinking", "thinking": "weighing options", "signature": "sig-abc"},
            {"type": "redacted_thinking", "data": "opaque-data"},
            server_block,
            {"type": "tool_use", "id": "toolu_01", "name": "bash", "input": {"command": "ls"}},
        ]})
    );
    assert_eq!(
        follow_up["messages"][2],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": "a.txt\nb.txt", "is_error": false, "cache_control": {"type": "ephemeral"}},
        ]})
    );
}

#[tokio::test]
async fn a_request_key_replaces_the_clients_credentials() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().text("ok"));
    fake.push(turn().text("ok"));
    let client = client_with(&fake, |c: &mut AnthropicConfig| {
        c.auth_token = Some(agentd_llm::ApiKey::new("tok-server"));
    });
    let mut own = request("m");
    own.api_key = Some(agentd_llm::ApiKey::new("sk-ant-users-own-key"));
    collect(client.stream(&own).await.unwrap()).await.unwrap();
    client.create(&request("m")).await.unwrap();
    let sent = fake.requests();
    assert_eq!(sent[0].header("x-api-key"), Some("sk-ant-users-own-key"));
    assert_eq!(sent[0].header("authorization"), None);
    assert!(
        !sent[0].body.to_string().contains("sk-ant-users-own-key"),
        "never in the body"
    );
    assert_eq!(
        sent[1].header("x-api-key"),
        Some("sk-ant-test-key-0000"),
        "other requests keep the client's key"
    );
}
