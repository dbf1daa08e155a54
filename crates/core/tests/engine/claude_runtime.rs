#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Sessions on the claude-code runtime: the real Claude Code CLI against the
//! testkit's Anthropic fake. Follow-ups reuse one process, a restarted
//! engine resumes the same Claude session, cancel interrupts within two
//! seconds, and failures are clear error events.

use crate::common;
use crate::common::TestEngine;

use std::time::{Duration, Instant};

use agentd_core::{ClaudeSettings, EngineConfig};
use agentd_protocol::{ErrorCode, EventData, Runtime, SessionStatus, TurnStopReason};
use agentd_testkit::{Failure, FakeAnthropic, Reply, turn};
use serde_json::{Value, json};

fn texts(request: &Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| match &m["content"] {
            Value::String(s) => vec![s.clone()],
            Value::Array(blocks) => blocks
                .iter()
                .filter_map(|b| b["text"].as_str().map(str::to_owned))
                .collect(),
            _ => vec![],
        })
        .collect()
}

fn config(fake: &FakeAnthropic, home: &std::path::Path) -> EngineConfig {
    EngineConfig {
        claude: common::claude(fake.base_url(), home),
        ..EngineConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_ups_share_one_process_and_a_restart_resumes_the_claude_session() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().text("first answer"));
    fake.push(turn().text("second answer"));
    let home = tempfile::tempdir().unwrap();
    let engine = TestEngine::anthropic(&fake)
        .config(config(&fake, home.path()))
        .start()
        .await;
    let workspace = tempfile::tempdir().unwrap();
    let id = engine
        .manager
        .create_session(
            common::request(workspace.path(), "question one", Runtime::ClaudeCode, None),
            None,
        )
        .await
        .unwrap()
        .id;
    assert_eq!(
        common::settle(&engine.manager, id).await,
        SessionStatus::Idle
    );
    engine
        .manager
        .send_message(id, "question two".into())
        .await
        .unwrap();
    assert_eq!(
        common::settle(&engine.manager, id).await,
        SessionStatus::Idle
    );
    let second = fake.message_requests().pop().unwrap();
    let seen = texts(&second);
    assert!(
        seen.iter().any(|t| t.contains("question one")) && seen.iter().any(|t| t == "first answer"),
        "{seen:?}"
    );
    let claude_id = engine
        .store
        .get_session(id)
        .await
        .unwrap()
        .unwrap()
        .runtime_state
        .unwrap()["claude_session_id"]
        .clone();
    assert!(claude_id.as_str().is_some_and(|s| !s.is_empty()));

    // A new engine on the same store: the next message resumes the session.
    engine.manager.shutdown().await;
    fake.push(turn().text("third answer"));
    let restarted = engine
        .restart(
            common::anthropic(fake.base_url()),
            config(&fake, home.path()),
        )
        .await;
    restarted
        .send_message(id, "question three".into())
        .await
        .unwrap();
    assert_eq!(common::settle(&restarted, id).await, SessionStatus::Idle);
    let third = fake.message_requests().pop().unwrap();
    let seen = texts(&third);
    for expected in ["question one", "second answer", "question three"] {
        assert!(
            seen.iter().any(|t| t.contains(expected)),
            "{expected} missing from {seen:?}"
        );
    }
    let after = engine
        .store
        .get_session(id)
        .await
        .unwrap()
        .unwrap()
        .runtime_state
        .unwrap()["claude_session_id"]
        .clone();
    assert_eq!(after, claude_id, "the same Claude session continues");
    let session = restarted.get_session(id).await.unwrap();
    assert_eq!(session.turns, 3);
    assert!(session.usage.output_tokens > 0);
    restarted.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_interrupts_a_long_cli_tool_within_two_seconds() {
    let fake = FakeAnthropic::start().await;
    // The CLI refuses a bare `sleep`; this waits the same way.
    fake.push(turn().tool_use("Bash", json!({"command": "timeout 30 tail -f /dev/null"})));
    let home = tempfile::tempdir().unwrap();
    let engine = TestEngine::anthropic(&fake)
        .config(config(&fake, home.path()))
        .start()
        .await;
    let workspace = tempfile::tempdir().unwrap();
    let id = engine
        .manager
        .create_session(
            common::request(workspace.path(), "wait", Runtime::ClaudeCode, None),
            None,
        )
        .await
        .unwrap()
        .id;
    let mut live = engine.manager.subscribe(id);
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let EventData::ToolStarted(_) = live.recv().await.unwrap().envelope.event {
                break;
            }
        }
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let asked = Instant::now();
    let view = engine.manager.cancel(id).await.unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "took {:?}",
        asked.elapsed()
    );
    assert_eq!(view.status, SessionStatus::Cancelled);
    assert_eq!(
        common::last_stop(&engine.manager, id).await,
        TurnStopReason::Cancelled
    );
    engine.manager.shutdown().await;
}

async fn failed_with(
    engine: &common::Engine,
    id: agentd_protocol::SessionId,
) -> (ErrorCode, String) {
    assert_eq!(
        common::settle(&engine.manager, id).await,
        SessionStatus::Failed
    );
    let events = engine.manager.read_events(id, 0, 1000).await.unwrap();
    events
        .iter()
        .find_map(|e| match &e.event {
            EventData::Error(err) => Some((err.code, err.message.clone())),
            _ => None,
        })
        .expect("an error event")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_cli_a_crashing_cli_and_an_api_error_are_clear_errors() {
    let fake = FakeAnthropic::start().await;
    let home = tempfile::tempdir().unwrap();
    let workspace = tempfile::tempdir().unwrap();

    let missing = EngineConfig {
        claude: ClaudeSettings {
            path: Some("/nonexistent/claude".into()),
            env: Vec::new(),
        },
        ..EngineConfig::default()
    };
    let engine = TestEngine::anthropic(&fake).config(missing).start().await;
    let id = engine
        .manager
        .create_session(
            common::request(workspace.path(), "hi", Runtime::ClaudeCode, None),
            None,
        )
        .await
        .unwrap()
        .id;
    let (code, message) = failed_with(&engine, id).await;
    assert_eq!(code, ErrorCode::Unavailable);
    assert!(
        message.contains("npm i -g @anthropic-ai/claude-code"),
        "{message}"
    );

    // A "CLI" that exits non-zero at once.
    let script = home.path().join("broken-claude");
    std::fs::write(&script, "#!/bin/sh\nif [ \"$1\" = --version ]; then echo '2.1.330 (Claude Code)'; exit 0; fi\necho 'boom: cannot start' >&2\nexit 3\n").unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(
        &mut std::fs::metadata(&script).unwrap().permissions(),
        0o755,
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let broken = EngineConfig {
        claude: ClaudeSettings {
            path: Some(script),
            env: Vec::new(),
        },
        ..EngineConfig::default()
    };
    let engine = TestEngine::anthropic(&fake).config(broken).start().await;
    let id = engine
        .manager
        .create_session(
            common::request(workspace.path(), "hi", Runtime::ClaudeCode, None),
            None,
        )
        .await
        .unwrap()
        .id;
    let (code, message) = failed_with(&engine, id).await;
    assert_eq!(code, ErrorCode::ModelUnavailable);
    assert!(message.contains("boom: cannot start"), "{message}");

    // The API refuses the key: the CLI reports it, we say so.
    fake.push(Reply::failure(Failure::unauthorized()));
    let engine = TestEngine::anthropic(&fake)
        .config(config(&fake, home.path()))
        .start()
        .await;
    let id = engine
        .manager
        .create_session(
            common::request(workspace.path(), "hi", Runtime::ClaudeCode, None),
            None,
        )
        .await
        .unwrap()
        .id;
    let (code, _) = failed_with(&engine, id).await;
    assert_eq!(code, ErrorCode::ModelAuthentication);
    engine.manager.shutdown().await;
}
