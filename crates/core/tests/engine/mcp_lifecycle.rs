#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A session's MCP servers live with the session: started (in the sandbox)
//! when a turn needs them, kept across turns, stopped when the session has
//! been idle for `mcp_idle_timeout` or is deleted.

use crate::common;
use crate::common::TestEngine;

use std::time::Duration;

use agentd_protocol::{McpServerInput, Runtime, SessionMcpServer, SessionStatus};
use agentd_testkit::{FakeAnthropic, turn};
use serde_json::json;

fn everything() -> String {
    std::env::var("AGENTD_TEST_MCP_EVERYTHING").unwrap_or_else(|_| {
        format!(
            "{}/.cache/agentd-npm/node_modules/.bin/mcp-server-everything",
            std::env::var("HOME").unwrap()
        )
    })
}

/// Processes whose command line mentions `marker` (the sandbox's wrapper
/// carries the server's env on its command line).
fn processes_with(marker: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|cmdline| String::from_utf8_lossy(cmdline).contains(marker))
        .count()
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..400 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_stop_when_the_session_idles_or_is_deleted() {
    let fake = FakeAnthropic::start().await;
    let engine = TestEngine::anthropic(&fake)
        .with_vault()
        .with(|c| c.mcp_idle_timeout = Duration::from_millis(1500))
        .start()
        .await;
    let manager = engine.manager.clone();
    let workspace = tempfile::tempdir().unwrap();
    let session = |marker: &str| {
        let mut req = common::request(workspace.path(), "echo", Runtime::Builtin, None);
        req.mcp_servers = Some(vec![SessionMcpServer::Inline(McpServerInput {
            name: "everything".into(),
            command: Some(everything()),
            args: Some(vec!["stdio".into()]),
            env: Some([("AGENTD_TEST_MARKER".to_owned(), marker.to_owned())].into()),
            ..McpServerInput::default()
        })]);
        req
    };

    // Idle: the server stays up right after the turn, then stops.
    let idle_marker = format!("idle-{}", uuid::Uuid::new_v4());
    fake.push(turn().tool_use("mcp__everything__echo", json!({"message": "x"})));
    fake.push(turn().text("done"));
    let id = manager
        .create_session(session(&idle_marker), None)
        .await
        .unwrap()
        .id;
    assert_eq!(common::settle(&manager, id).await, SessionStatus::Idle);
    assert!(
        processes_with(&idle_marker) > 0,
        "the server is kept after the turn"
    );
    wait_until("the idle server stops", || {
        processes_with(&idle_marker) == 0
    })
    .await;

    // Deleted: the server stops at once.
    let delete_marker = format!("delete-{}", uuid::Uuid::new_v4());
    fake.push(turn().tool_use("mcp__everything__echo", json!({"message": "y"})));
    fake.push(turn().text("done"));
    let id = manager
        .create_session(session(&delete_marker), None)
        .await
        .unwrap()
        .id;
    assert_eq!(common::settle(&manager, id).await, SessionStatus::Idle);
    assert!(processes_with(&delete_marker) > 0);
    manager.delete_session(id).await.unwrap();
    wait_until("the deleted session's server stops", || {
        processes_with(&delete_marker) == 0
    })
    .await;
}
