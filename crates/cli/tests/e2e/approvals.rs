//! Approvals through the public API: the scripted model asks for a denied
//! command, an allowed one and three that need a person; the owner answers
//! one over REST and one over WebSocket and lets the third time out.
//! Events, statuses and the model's tool results are as specified.

use std::time::Duration;

use agentd_testkit::{FakeAnthropic, turn};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{Backend, Server};

async fn pending(server: &Server, id: &str) -> Value {
    for _ in 0..400 {
        let (status, body) = server
            .get(&format!("/api/v1/sessions/{id}/approvals"))
            .await;
        assert_eq!(status, 200, "{body}");
        if let Some(first) = body["approvals"].as_array().and_then(|a| a.first()) {
            let (_, session) = server.get(&format!("/api/v1/sessions/{id}")).await;
            assert_eq!(session["status"], "blocked_on_approval");
            return first.clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no approval was requested: {}", server.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_over_rest_and_websocket_and_a_timeout() {
    let fake = FakeAnthropic::start().await;
    for command in [
        "rm -rf /tmp/x",
        "echo allowed",
        "echo via-rest",
        "echo via-ws",
        "echo never-answered",
    ] {
        fake.push(turn().tool_use("bash", json!({"command": command})));
    }
    fake.push(turn().text("done"));
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        "[permissions]\nallow = [\"Bash(echo allowed)\"]\ndeny = [\"Bash(rm:*)\"]\n",
    )
    .unwrap();
    let config_path = config.path().display().to_string();
    let server = Server::start_with(
        Backend::Sqlite,
        &fake,
        &[
            ("AGENTD_CONFIG", &config_path),
            ("AGENTD_APPROVAL_TIMEOUT_SECS", "1"),
        ],
    )
    .await;
    let workspace = tempfile::tempdir().unwrap();
    let (status, created) = server
        .post("/api/v1/sessions", json!({"prompt": "go", "workspace": {"path": workspace.path()}, "permission_mode": "default"}))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();

    // Over REST.
    let first = pending(&server, &id).await;
    assert_eq!(first["input"]["command"], "echo via-rest");
    let request_id = first["request_id"].as_str().unwrap();
    let res = server
        .http
        .post(server.url(&format!("/api/v1/sessions/{id}/approvals/{request_id}")))
        .json(&json!({"decision": "accept"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);

    // Over WebSocket.
    let second = pending(&server, &id).await;
    assert_eq!(second["input"]["command"], "echo via-ws");
    let mut ws = server.ws(&server.token).await;
    let approve = json!({"type": "approve", "session_id": id, "request_id": second["request_id"], "decision": "decline", "message": "not now"});
    ws.send(Message::text(approve.to_string())).await.unwrap();
    let reply = loop {
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            continue;
        };
        break serde_json::from_str::<Value>(&text).unwrap();
    };
    assert_eq!(reply["type"], "approved", "{reply}");

    // Nobody answers the third: it expires into a denial.
    let third = pending(&server, &id).await;
    assert_eq!(third["input"]["command"], "echo never-answered");
    let session = server.wait_status(&id, &["idle"]).await;
    assert_eq!(session["status_reason"], "3 tool call(s) were denied");

    let request = fake.message_requests().pop().unwrap();
    let results: Vec<(bool, String)> = request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .filter(|b| b["type"] == "tool_result")
        .map(|b| {
            (
                b["is_error"] == true,
                b["content"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(
        results[0].0 && results[0].1.contains("denied by the rule"),
        "{:?}",
        results[0]
    );
    assert_eq!(results[1], (false, "allowed\nexit code: 0".to_owned()));
    assert_eq!(results[2], (false, "via-rest\nexit code: 0".to_owned()));
    assert!(
        results[3].0 && results[3].1.contains("not now"),
        "{:?}",
        results[3]
    );
    assert!(
        results[4].0 && results[4].1.contains("nobody approved"),
        "{:?}",
        results[4]
    );

    let events = server.events(&id).await;
    let resolved: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["type"] == "permission.resolved")
        .map(|e| {
            (
                e["data"]["decision"].as_str().unwrap().to_owned(),
                e["data"]["by"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(resolved.len(), 3);
    assert_eq!(resolved[0].0, "accept");
    assert_eq!(resolved[1].0, "decline");
    assert_eq!(resolved[2], ("decline".to_owned(), "timeout".to_owned()));
    assert_eq!(
        resolved[0].1, resolved[1].1,
        "the same person answered both"
    );
}
