#![allow(clippy::unwrap_used, clippy::expect_used)]
//! One task, three engines: the builtin loop over the Anthropic API, the
//! builtin loop over an OpenAI-compatible API, and the real Claude Code CLI.
//! The model's script is the same (write a file, run a command, answer);
//! the events a client sees must be the same kinds in the same order, and
//! the file must exist.

use crate::common;
use crate::common::TestEngine;

use agentd_core::EngineConfig;
use agentd_llm::{AnthropicClient, AnthropicConfig, ModelRouter, OpenAiClient, OpenAiConfig};
use agentd_protocol::{Runtime, SessionStatus};
use agentd_testkit::{FakeAnthropic, FakeOpenAi, Turn, turn};
use serde_json::json;

/// The script, with each runtime's own tool names.
fn script(write: &str, path_key: &str, path: &str, bash: &str) -> Vec<Turn> {
    vec![
        turn().text("I'll write the notes.").tool_use(
            write,
            json!({path_key: path, "content": "remember the milk\n"}),
        ),
        turn()
            .text("Checking.")
            .tool_use(bash, json!({"command": "cat notes.txt"})),
        turn().text("Done: notes.txt is written."),
    ]
}

/// Run the task; returns the event kinds that matter for parity.
async fn run(
    runtime: Runtime,
    model: &str,
    router: ModelRouter,
    config: EngineConfig,
    workspace: &std::path::Path,
) -> Vec<&'static str> {
    let engine = TestEngine::new(router).config(config).start().await;
    let request = common::request(
        workspace,
        "write notes.txt and check it",
        runtime,
        Some(model),
    );
    let id = engine
        .manager
        .create_session(request, None)
        .await
        .unwrap()
        .id;
    let status = common::settle(&engine.manager, id).await;
    let events = engine.manager.read_events(id, 0, 10_000).await.unwrap();
    assert_eq!(
        status,
        SessionStatus::Idle,
        "{runtime:?} {model}: {events:#?}"
    );
    engine.manager.shutdown().await;
    events
        .iter()
        .map(|e| e.event.event_type())
        // Deltas and live output differ in granularity; usage is per model
        // call on one runtime and per turn on the other.
        .filter(|t| {
            !matches!(
                *t,
                "text.delta" | "thinking.delta" | "tool.output" | "usage"
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtin_openai_and_claude_code_emit_the_same_events() {
    let workspaces: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();

    let anthropic = FakeAnthropic::start().await;
    for t in script("write_file", "path", "notes.txt", "bash") {
        anthropic.push(t);
    }
    let builtin = run(
        Runtime::Builtin,
        "claude-sonnet-4-5",
        common::anthropic(anthropic.base_url()),
        EngineConfig::default(),
        workspaces[0].path(),
    )
    .await;

    let openai = FakeOpenAi::start().await;
    for t in script("write_file", "path", "notes.txt", "bash") {
        openai.push(t);
    }
    let router = ModelRouter::new(
        AnthropicClient::new(AnthropicConfig::for_tests(anthropic.base_url())).unwrap(),
        Some(OpenAiClient::new(OpenAiConfig::for_tests(openai.base_url())).unwrap()),
    );
    let over_openai = run(
        Runtime::Builtin,
        "openai:qwen3",
        router,
        EngineConfig::default(),
        workspaces[1].path(),
    )
    .await;

    // The CLI's Write tool takes an absolute path.
    let cli_fake = FakeAnthropic::start().await;
    let file = workspaces[2].path().join("notes.txt");
    for t in script("Write", "file_path", &file.display().to_string(), "Bash") {
        cli_fake.push(t);
    }
    let home = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        claude: common::claude(cli_fake.base_url(), home.path()),
        ..EngineConfig::default()
    };
    let claude = run(
        Runtime::ClaudeCode,
        "claude-sonnet-4-5",
        common::anthropic(cli_fake.base_url()),
        config,
        workspaces[2].path(),
    )
    .await;

    for workspace in &workspaces {
        assert_eq!(
            std::fs::read_to_string(workspace.path().join("notes.txt")).unwrap(),
            "remember the milk\n"
        );
    }
    let expected = [
        "session.status",
        "session.status",
        "turn.started",
        "message.started",
        "message.completed",
        "tool.started",
        "tool.completed",
        "file.changed",
        "message.started",
        "message.completed",
        "tool.started",
        "tool.completed",
        "message.started",
        "message.completed",
        "turn.completed",
        "session.status",
    ];
    assert_eq!(builtin, expected, "builtin over Anthropic");
    assert_eq!(over_openai, expected, "builtin over OpenAI-compatible");
    assert_eq!(claude, expected, "claude-code");
}
