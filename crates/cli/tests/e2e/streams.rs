//! Resuming event streams: SSE with `Last-Event-ID`, WebSocket with
//! `after`; both give exactly the missing events, no gap, no duplicate.

use std::time::Duration;

use agentd_testkit::{FakeAnthropic, turn};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{Backend, Server, git_repo, seqs};

async fn finished_session(
    server: &Server,
    fake: &FakeAnthropic,
) -> (String, Vec<Value>, tempfile::TempDir) {
    fake.push(
        turn()
            .text("step one")
            .tool_use("bash", json!({"command": "echo a; echo b"})),
    );
    fake.push(turn().text("all done"));
    let repo = git_repo();
    let id = server.create_session(repo.path(), "go").await;
    server.wait_status(&id, &["idle"]).await;
    let events = server.events(&id).await;
    (id, events, repo)
}

async fn sse_resume_gives_exactly_the_missing_events(backend: Backend) {
    let fake = FakeAnthropic::start().await;
    let server = Server::start(backend, &fake).await;
    let (id, events, _repo) = finished_session(&server, &fake).await;
    let n = events.len() as u64;
    assert!(n > 10);
    let k = n / 2;
    let last = events.last().unwrap().clone();
    let frames = server.sse_until(&id, Some(k), |d| d == &last).await;
    let ids: Vec<u64> = frames.iter().map(|f| f.0).collect();
    assert_eq!(ids, (k + 1..=n).collect::<Vec<_>>());
    let data: Vec<Value> = frames.into_iter().map(|f| f.2).collect();
    assert_eq!(data, events[k as usize..].to_vec());

    // `?after=` does the same without the header.
    let (_, page) = server
        .get(&format!(
            "/api/v1/sessions/{id}/events?format=json&after={k}"
        ))
        .await;
    assert_eq!(
        seqs(page["events"].as_array().unwrap()),
        (k + 1..=n).collect::<Vec<_>>()
    );
}
both_backends!(
    sse_resume_gives_exactly_the_missing_events,
    sse_resume_gives_exactly_the_missing_events
);

async fn websocket_resume_with_after(backend: Backend) {
    let fake = FakeAnthropic::start().await;
    let server = Server::start(backend, &fake).await;
    let (id, events, _repo) = finished_session(&server, &fake).await;
    let n = events.len() as u64;
    let k = 3;
    let mut ws = server.ws(&server.token).await;
    ws.send(Message::text(
        json!({"type": "subscribe", "session_id": id, "after": k}).to_string(),
    ))
    .await
    .unwrap();
    let mut got = Vec::new();
    let read = async {
        while let Some(Ok(msg)) = ws.next().await {
            let Message::Text(text) = msg else { continue };
            let v: Value = serde_json::from_str(&text).unwrap();
            match v["type"].as_str().unwrap() {
                "subscribed" => assert_eq!(v["after"], k),
                "event" => {
                    got.push(v["event"].clone());
                    if got.len() as u64 == n - k {
                        break;
                    }
                }
                other => panic!("unexpected {other}: {v}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .unwrap();
    assert_eq!(got, events[k as usize..].to_vec());

    // Live events of a new turn arrive on the same subscription, then the
    // unknown-session and bad-message errors are explicit.
    fake.push(turn().text("more"));
    server
        .post(
            &format!("/api/v1/sessions/{id}/messages"),
            json!({"text": "again"}),
        )
        .await;
    let live = async {
        let mut seqs = Vec::new();
        while let Some(Ok(msg)) = ws.next().await {
            let Message::Text(text) = msg else { continue };
            let v: Value = serde_json::from_str(&text).unwrap();
            seqs.push(v["event"]["seq"].as_u64().unwrap());
            if v["event"]["type"] == "session.status" && v["event"]["data"]["status"] == "idle" {
                return seqs;
            }
        }
        seqs
    };
    let live_seqs = tokio::time::timeout(Duration::from_secs(10), live)
        .await
        .unwrap();
    assert_eq!(live_seqs[0], n + 1);
    assert_eq!(
        live_seqs,
        (n + 1..n + 1 + live_seqs.len() as u64).collect::<Vec<_>>()
    );

    ws.send(Message::text(
        json!({"type": "subscribe", "session_id": "0190f5a4-7c1e-7000-8000-000000000001"})
            .to_string(),
    ))
    .await
    .unwrap();
    ws.send(Message::text("not json")).await.unwrap();
    let mut codes = Vec::new();
    while codes.len() < 2 {
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            continue;
        };
        let v: Value = serde_json::from_str(&text).unwrap();
        codes.push(v["code"].as_str().unwrap().to_owned());
    }
    assert_eq!(codes, ["not_found", "invalid_json"]);
}
both_backends!(websocket_resume_with_after, websocket_resume_with_after);
