//! Control requests the real CLI does not send on demand (unknown
//! subtypes, cancellations), played by a scripted stand-in for the CLI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

use agentd_claude::{
    ClaudeCli, ClaudeEvent, ClaudeProcess, PermissionDecision, PermissionHandler,
    PermissionRequest, SpawnOptions,
};
use async_trait::async_trait;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

/// Answers `initialize`, asks `can_use_tool` and cancels it, sends a
/// request of an unknown subtype, ends the turn and stores the lines it
/// gets until stdin closes: the reply to the unknown request, and nothing
/// for the cancelled one (whose handler would have answered by then).
const SCRIPT: &str = r#"#!/bin/sh
read -r init
echo '{"type":"control_response","response":{"subtype":"success","request_id":"req_1_agentd","response":{}}}'
echo '{"type":"system","subtype":"init","session_id":"s-fake"}'
echo '{"type":"control_request","request_id":"cli_2","request":{"subtype":"can_use_tool","tool_name":"Bash","input":{"command":"ls"},"tool_use_id":"toolu_9"}}'
echo '{"type":"control_cancel_request","request_id":"cli_2"}'
echo '{"type":"control_request","request_id":"cli_3","request":{"subtype":"brand_new_request","x":1}}'
read -r reply
sleep 0.5
echo '{"type":"result","subtype":"success","is_error":false,"session_id":"s-fake","result":"ok","usage":{"input_tokens":1,"output_tokens":1}}'
read -r late
printf '%s\n' "$reply" > reply.json
printf '%s' "$late" > late.json
"#;

/// A person who answers after a moment.
struct SlowAllow;

#[async_trait]
impl PermissionHandler for SlowAllow {
    async fn can_use_tool(&self, request: PermissionRequest) -> PermissionDecision {
        tokio::time::sleep(Duration::from_millis(100)).await;
        PermissionDecision::Allow {
            updated_input: request.input,
        }
    }
}

#[tokio::test]
async fn unknown_requests_get_an_error_reply_and_cancelled_ones_none() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("claude");
    std::fs::write(&path, SCRIPT).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cli = ClaudeCli {
        path,
        version: "2.1.330".into(),
    };
    let opts = SpawnOptions {
        cwd: dir.path().to_path_buf(),
        ..SpawnOptions::default()
    };
    let mut process = tokio::time::timeout(
        Duration::from_secs(10),
        ClaudeProcess::spawn(&cli, opts, Arc::new(SlowAllow)),
    )
    .await
    .unwrap()
    .unwrap();

    let ended = tokio::time::timeout(Duration::from_secs(10), process.next())
        .await
        .unwrap();
    assert!(
        matches!(ended, Some(ClaudeEvent::TurnEnded(ref r)) if r.session_id == "s-fake"),
        "{ended:?}"
    );
    assert_eq!(process.claude_session_id().as_deref(), Some("s-fake"));
    tokio::time::timeout(Duration::from_secs(10), process.shutdown())
        .await
        .unwrap();
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let reply: Value = serde_json::from_str(&read("reply.json")).unwrap();
    assert_eq!(
        reply,
        json!({"type": "control_response", "response": {"subtype": "error", "request_id": "cli_3",
            "error": "agentd does not support the control request `brand_new_request`"}})
    );
    assert_eq!(read("late.json"), "", "the cancelled request was answered");
}
