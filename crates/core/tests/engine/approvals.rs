#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Permission rules and approvals in the builtin loop: a denied command, an
//! allowed one, and ones that ask; answers accept, accept for the session,
//! decline with a message; an unanswered request times out to deny. Events,
//! statuses and the model's tool results are exactly as specified.

use crate::common;
use crate::common::TestEngine;

use std::time::Duration;

use agentd_core::EngineConfig;
use agentd_policy::{PermissionSet, Rule};
use agentd_protocol::event::{ApprovalDecision, PermissionRequested};
use agentd_protocol::{
    CreateSessionRequest, EventData, PermissionMode, Runtime, SessionId, SessionStatus,
};
use agentd_testkit::{FakeAnthropic, turn};
use serde_json::{Value, json};

async fn next_request(engine: &common::Engine, id: SessionId) -> PermissionRequested {
    for _ in 0..400 {
        if let Some(request) = engine
            .manager
            .pending_approvals(id)
            .await
            .unwrap()
            .into_iter()
            .next()
        {
            let status = engine.manager.get_session(id).await.unwrap().status;
            assert_eq!(status, SessionStatus::BlockedOnApproval);
            return request;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no approval was requested");
}

/// The tool results the model received in its last request, in order.
fn results(fake: &FakeAnthropic) -> Vec<(bool, String)> {
    let request = fake.message_requests().pop().unwrap();
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .filter(|b| b["type"] == "tool_result")
        .map(|b| {
            (
                b["is_error"] == Value::Bool(true),
                b["content"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_and_people_decide_and_the_clock_denies() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().tool_use("bash", json!({"command": "rm -rf build"})));
    fake.push(turn().tool_use("bash", json!({"command": "echo allowed"})));
    fake.push(turn().tool_use("bash", json!({"command": "echo asked-1"})));
    fake.push(turn().tool_use("bash", json!({"command": "echo asked-2"})));
    fake.push(turn().tool_use("bash", json!({"command": "echo asked-3"})));
    fake.push(turn().tool_use("bash", json!({"command": "echo asked-1"})));
    fake.push(turn().text("done"));
    let permissions = PermissionSet {
        allow: vec![Rule::parse("Bash(echo allowed)").unwrap()],
        ask: vec![],
        deny: vec![Rule::parse("Bash(rm:*)").unwrap()],
    };
    let config = EngineConfig {
        permissions,
        approval_timeout: time::Duration::milliseconds(400),
        ..EngineConfig::default()
    };
    let engine = TestEngine::anthropic(&fake).config(config).start().await;
    let workspace = tempfile::tempdir().unwrap();
    let request = CreateSessionRequest {
        permission_mode: Some(PermissionMode::Default),
        ..common::request(workspace.path(), "do things", Runtime::Builtin, None)
    };
    let id = engine
        .manager
        .create_session(request, None)
        .await
        .unwrap()
        .id;

    // asked-1: accepted for the session; asked-2: declined with a message;
    // asked-3: nobody answers.
    let first = next_request(&engine, id).await;
    assert_eq!(first.tool, "bash");
    assert_eq!(first.input, json!({"command": "echo asked-1"}));
    engine
        .manager
        .answer_approval(
            id,
            &first.request_id,
            ApprovalDecision::AcceptForSession,
            None,
            "u1".into(),
        )
        .await
        .unwrap();
    let second = next_request(&engine, id).await;
    assert_eq!(second.input, json!({"command": "echo asked-2"}));
    engine
        .manager
        .answer_approval(
            id,
            &second.request_id,
            ApprovalDecision::Decline,
            Some("use the test target".into()),
            "u1".into(),
        )
        .await
        .unwrap();
    let third = next_request(&engine, id).await;
    assert_eq!(third.input, json!({"command": "echo asked-3"}));
    // A late answer after expiry finds nothing waiting.
    assert_eq!(
        common::settle(&engine.manager, id).await,
        SessionStatus::Idle
    );
    assert!(
        engine
            .manager
            .answer_approval(
                id,
                &third.request_id,
                ApprovalDecision::Accept,
                None,
                "u1".into()
            )
            .await
            .is_err()
    );

    let results = results(&fake);
    assert_eq!(results.len(), 6);
    assert!(
        results[0].0 && results[0].1.contains("denied by the rule `Bash(rm:*)`"),
        "{:?}",
        results[0]
    );
    assert_eq!(results[1], (false, "allowed\nexit code: 0".into()));
    assert!(!results[2].0 && results[2].1.contains("asked-1"));
    assert!(
        results[3].0
            && results[3]
                .1
                .contains("the user declined this tool call: use the test target")
    );
    assert!(
        results[4].0 && results[4].1.contains("nobody approved bash"),
        "{:?}",
        results[4]
    );
    // The same command again ran without asking: the session rule holds.
    assert!(!results[5].0 && results[5].1.contains("asked-1"));

    let events = engine.manager.read_events(id, 0, 10_000).await.unwrap();
    let resolutions: Vec<(ApprovalDecision, String)> = events
        .iter()
        .filter_map(|e| match &e.event {
            EventData::PermissionResolved(r) => Some((r.decision, r.by.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        resolutions,
        [
            (ApprovalDecision::AcceptForSession, "u1".to_owned()),
            (ApprovalDecision::Decline, "u1".to_owned()),
            (ApprovalDecision::Decline, "timeout".to_owned()),
        ]
    );
    let requested = events
        .iter()
        .filter(|e| matches!(e.event, EventData::PermissionRequested(_)))
        .count();
    assert_eq!(
        requested, 3,
        "the rule-allowed, rule-denied and session-allowed calls asked nobody"
    );
    let blocked = events
        .iter()
        .filter(|e| matches!(&e.event, EventData::SessionStatus(s) if s.status == SessionStatus::BlockedOnApproval))
        .count();
    assert_eq!(blocked, 3);
    let done = events
        .iter()
        .find_map(|e| match &e.event {
            EventData::TurnCompleted(d) => Some(d.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        done.denied, 3,
        "a run with refusals is never a plain success"
    );
    let session = engine.manager.get_session(id).await.unwrap();
    assert_eq!(
        session.status_reason.as_deref(),
        Some("3 tool call(s) were denied")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_mode_reads_but_never_writes_and_unattended_never_asks() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().tool_use("read_file", json!({"path": "a.txt"})));
    fake.push(turn().tool_use("write_file", json!({"path": "b.txt", "content": "x"})));
    fake.push(turn().text("planned"));
    let engine = TestEngine::anthropic(&fake).start().await;
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(workspace.path().join("a.txt"), "hello\n").unwrap();
    let request = CreateSessionRequest {
        permission_mode: Some(PermissionMode::Plan),
        ..common::request(workspace.path(), "plan", Runtime::Builtin, None)
    };
    let id = engine
        .manager
        .create_session(request, None)
        .await
        .unwrap()
        .id;
    assert_eq!(
        common::settle(&engine.manager, id).await,
        SessionStatus::Idle
    );
    assert!(!workspace.path().join("b.txt").exists());
    let r = results(&fake);
    assert!(!r[0].0 && r[0].1.contains("hello"));
    assert!(r[1].0 && r[1].1.contains("plan mode"), "{:?}", r[1]);

    fake.push(turn().tool_use("bash", json!({"command": "echo hi"})));
    fake.push(turn().text("ok"));
    let request = CreateSessionRequest {
        permission_mode: Some(PermissionMode::Unattended),
        ..common::request(workspace.path(), "unattended", Runtime::Builtin, None)
    };
    let id = engine
        .manager
        .create_session(request, None)
        .await
        .unwrap()
        .id;
    assert_eq!(
        common::settle(&engine.manager, id).await,
        SessionStatus::Idle
    );
    assert!(
        engine
            .manager
            .pending_approvals(id)
            .await
            .unwrap()
            .is_empty()
    );
    let r = results(&fake);
    assert!(r[0].0 && r[0].1.contains("runs unattended"), "{:?}", r[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_claude_code_runtime_asks_through_the_same_flow() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().tool_use("Bash", json!({"command": "rm -rf build"})));
    fake.push(turn().tool_use("Bash", json!({"command": "echo approved > proof.txt"})));
    fake.push(turn().text("done"));
    let home = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        permissions: PermissionSet {
            allow: vec![],
            ask: vec![],
            deny: vec![Rule::parse("Bash(rm:*)").unwrap()],
        },
        claude: common::claude(fake.base_url(), home.path()),
        ..EngineConfig::default()
    };
    let engine = TestEngine::anthropic(&fake).config(config).start().await;
    let workspace = tempfile::tempdir().unwrap();
    let request = CreateSessionRequest {
        permission_mode: Some(PermissionMode::Default),
        ..common::request(workspace.path(), "go", Runtime::ClaudeCode, None)
    };
    let id = engine
        .manager
        .create_session(request, None)
        .await
        .unwrap()
        .id;
    let asked = next_request(&engine, id).await;
    assert_eq!(asked.tool, "Bash");
    assert_eq!(asked.input["command"], "echo approved > proof.txt");
    engine
        .manager
        .answer_approval(
            id,
            &asked.request_id,
            ApprovalDecision::Accept,
            None,
            "u1".into(),
        )
        .await
        .unwrap();
    assert_eq!(
        common::settle(&engine.manager, id).await,
        SessionStatus::Idle
    );
    assert_eq!(
        std::fs::read_to_string(workspace.path().join("proof.txt"))
            .unwrap()
            .trim(),
        "approved"
    );
    // The denied call never asked a person, and the model was told why.
    let events = engine.manager.read_events(id, 0, 10_000).await.unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e.event, EventData::PermissionRequested(_)))
            .count(),
        1
    );
    let second = &fake.message_requests()[1];
    assert!(
        second
            .to_string()
            .contains("denied by the rule `Bash(rm:*)`"),
        "{second}"
    );
    engine.manager.shutdown().await;
}
