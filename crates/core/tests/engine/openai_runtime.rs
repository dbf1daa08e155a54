#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A builtin session whose model sits behind an OpenAI-compatible server
//! (`"model": "openai:<name>"`), with the stream quirks local servers have.

use crate::common;
use crate::common::TestEngine;

use agentd_llm::{AnthropicClient, AnthropicConfig, ModelRouter, OpenAiClient, OpenAiConfig};
use agentd_protocol::{EventData, Runtime, SessionStatus, TurnStopReason};
use agentd_testkit::{FakeAnthropic, FakeOpenAi, Quirk, WithQuirks, turn};
use serde_json::json;

#[tokio::test]
async fn a_tool_loop_over_a_quirky_openai_compatible_stream() {
    let anthropic = FakeAnthropic::start().await;
    let openai = FakeOpenAi::start().await;
    // Two parallel calls, every index 0 and the second call whole in one
    // chunk: an Ollama-style stream.
    openai.push(
        turn()
            .text("Writing both.")
            .tool_use("write_file", json!({"path": "a.txt", "content": "A\n"}))
            .tool_use("bash", json!({"command": "echo B > b.txt"}))
            .quirk(Quirk::RepeatedIndexZero),
    );
    openai.push(turn().text("Done.").quirk(Quirk::NullChoicesInUsage));
    let router = ModelRouter::new(
        AnthropicClient::new(AnthropicConfig::for_tests(anthropic.base_url())).unwrap(),
        Some(OpenAiClient::new(OpenAiConfig::for_tests(openai.base_url())).unwrap()),
    );
    let engine = TestEngine::new(router).start().await;
    let manager = &engine.manager;
    let workspace = tempfile::tempdir().unwrap();
    let request = common::request(
        workspace.path(),
        "write a and b",
        Runtime::Builtin,
        Some("openai:llama3.1"),
    );
    let id = manager.create_session(request, None).await.unwrap().id;
    assert_eq!(common::settle(manager, id).await, SessionStatus::Idle);
    assert_eq!(
        std::fs::read_to_string(workspace.path().join("a.txt")).unwrap(),
        "A\n"
    );
    assert_eq!(
        std::fs::read_to_string(workspace.path().join("b.txt")).unwrap(),
        "B\n"
    );
    let events = manager.read_events(id, 0, 1000).await.unwrap();
    let tools: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.event {
            EventData::ToolCompleted(t) if t.ok => Some(t.tool.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(tools, ["write_file", "bash"]);
    let stop = events.iter().find_map(|e| match &e.event {
        EventData::TurnCompleted(done) => Some(done.stop_reason),
        _ => None,
    });
    assert_eq!(stop, Some(TurnStopReason::EndTurn));
    // The model name went out without its prefix, the tool results came back
    // as `tool` messages, and Anthropic was never asked.
    let requests = openai.message_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0]["model"], "llama3.1");
    let roles: Vec<&str> = requests[1]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "tool", "tool"]);
    assert!(anthropic.requests().is_empty());
}
