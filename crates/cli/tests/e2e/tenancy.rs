//! Member A cannot see, stream (SSE or WebSocket), message, steer, cancel or
//! delete member B's sessions: each answer is the same 404 a missing session
//! gets. Admins see everything.

use std::time::Duration;

use agentd_testkit::{FakeAnthropic, turn};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{Backend, Server, send};

async fn tenants_are_isolated(backend: Backend) {
    let fake = FakeAnthropic::start().await;
    fake.set_default(turn().text("done"));
    let server = Server::start(backend, &fake).await;
    let a = server.member("ann").await;
    let b = server.member("bob").await;
    let dir = tempfile::tempdir().unwrap();
    let create = |http: &reqwest::Client| {
        http.post(server.url("/api/v1/sessions"))
            .json(&json!({"prompt": "hi", "workspace": {"path": dir.path()}}))
    };
    let (status, a_session) = send(create(&a.http)).await;
    assert_eq!(status, 201);
    let a_id = a_session["id"].as_str().unwrap().to_owned();
    let (_, b_session) = send(create(&b.http)).await;
    let b_id = b_session["id"].as_str().unwrap().to_owned();
    server.wait_status(&a_id, &["idle"]).await;
    server.wait_status(&b_id, &["idle"]).await;

    // Lists are filtered; the admin sees both.
    let ids = |list: &Value| -> Vec<String> {
        list["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, list) = send(b.http.get(server.url("/api/v1/sessions"))).await;
    assert_eq!(ids(&list), vec![b_id.clone()]);
    let (_, list) = send(server.http.get(server.url("/api/v1/sessions"))).await;
    assert!(ids(&list).contains(&a_id) && ids(&list).contains(&b_id));

    // Every route on A's session answers B exactly like a missing session.
    let missing = "0190f5a4-7c1e-7000-8000-000000000001";
    for id in [a_id.as_str(), missing] {
        let s = |p: &str| server.url(&format!("/api/v1/sessions/{id}{p}"));
        let text = json!({"text": "let me in"});
        let requests = [
            b.http.get(s("")),
            b.http.get(s("/events?format=json")),
            b.http.get(s("/events")),
            b.http.post(s("/messages")).json(&text),
            b.http.post(s("/steer")).json(&text),
            b.http.post(s("/cancel")),
            b.http.delete(s("")),
        ];
        for req in requests {
            let (status, body) = send(req).await;
            assert_eq!(
                (status, body["error"]["code"].clone()),
                (404, json!("not_found")),
                "{id}: {body}"
            );
            assert_eq!(body["error"]["message"], "session not found");
        }
    }
    // A's session is untouched and A still reaches it.
    let (status, view) = send(a.http.get(server.url(&format!("/api/v1/sessions/{a_id}")))).await;
    assert_eq!((status, view["turns"].clone()), (200, json!(1)));

    // WebSocket: subscribing to A's session is refused like a missing one,
    // and B's own subscription carries only B's events.
    let mut ws = server.ws(&b.token).await;
    for id in [&a_id, &b_id] {
        ws.send(Message::text(
            json!({"type": "subscribe", "session_id": id}).to_string(),
        ))
        .await
        .unwrap();
    }
    let mut refused = false;
    let mut own_events = 0;
    let read = async {
        while let Some(Ok(msg)) = ws.next().await {
            let Message::Text(text) = msg else { continue };
            let v: Value = serde_json::from_str(&text).unwrap();
            match v["type"].as_str().unwrap() {
                "error" => {
                    assert_eq!(v["code"], "not_found");
                    refused = true;
                }
                "event" => {
                    assert_eq!(
                        v["event"]["session_id"],
                        b_id.as_str(),
                        "no event crosses tenants"
                    );
                    own_events += 1;
                }
                _ => {}
            }
            if refused && own_events > 0 {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .unwrap();
    assert!(refused && own_events > 0);
}

both_backends!(
    members_cannot_reach_each_others_sessions,
    tenants_are_isolated
);
