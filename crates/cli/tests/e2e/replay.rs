//! Exact replay: the `data:` of an event replayed from the log is the same
//! bytes as when it was streamed live (issue 12, defect 9: a cost of
//! 0.013014000000000001 came back as 0.013014).

use std::time::Duration;

use agentd_testkit::turn;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::common::{Backend, Server, git_repo};

/// Raw SSE frames (id, event name, data text exactly as sent) of a session
/// from `after`, until event `until`, or else until the session goes back
/// to `idle` after a `turn.completed`.
async fn raw_frames(
    http: &reqwest::Client,
    url: &str,
    after: u64,
    until: Option<u64>,
) -> Vec<(u64, String, String)> {
    let res = http
        .get(url)
        .header("Last-Event-ID", after.to_string())
        .send()
        .await
        .expect("sse");
    assert_eq!(res.status(), 200);
    let mut stream = eventsource_stream::EventStream::new(res.bytes_stream());
    let mut frames = Vec::new();
    let mut completed = false;
    let read = async {
        while let Some(Ok(ev)) = stream.next().await {
            let data: Value = serde_json::from_str(&ev.data).expect("json data");
            let seq: u64 = ev.id.parse().expect("numeric id");
            completed |= ev.event == "turn.completed";
            let done = match until {
                Some(last) => seq >= last,
                None => completed && data["data"]["status"] == "idle",
            };
            frames.push((seq, ev.event, ev.data));
            if done {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("sse timed out");
    frames
}

async fn replayed_events_are_the_live_bytes(backend: Backend) {
    let fake = agentd_testkit::FakeAnthropic::start().await;
    let server = Server::start(backend, &fake).await;
    fake.push(turn().text("first"));
    let repo = git_repo();
    let id = server.create_session(repo.path(), "go").await;
    server.wait_status(&id, &["idle"]).await;
    let before = server.events(&id).await.len() as u64;

    // Follow from here, so the second turn's events reach us through the
    // bus, as published when they were written. 13 input and 865 output
    // tokens at the default model's $3 / $15 per million cost
    // 0.013014000000000001 in f64, the value the issue saw change.
    let url = server.url(&format!("/api/v1/sessions/{id}/events"));
    let live = tokio::spawn({
        let (http, url) = (server.http.clone(), url.clone());
        async move { raw_frames(&http, &url, before, None).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    fake.push(
        turn()
            .text("the second answer, streamed slowly")
            .usage(13, 865, 0, 0)
            .delay_per_event(Duration::from_millis(40)),
    );
    let (status, _) = server
        .post(
            &format!("/api/v1/sessions/{id}/messages"),
            json!({"text": "again"}),
        )
        .await;
    assert_eq!(status, 202);
    let live = live.await.unwrap();

    // Everything again, from the log.
    let last = live.last().expect("live events").0;
    let replayed = raw_frames(&server.http, &url, 0, Some(last)).await;
    let replayed: Vec<_> = replayed
        .into_iter()
        .filter(|(seq, _, _)| *seq > before)
        .collect();
    assert!(live.len() > 5, "{live:?}");
    assert_eq!(replayed.len(), live.len());
    for (live, replayed) in live.iter().zip(&replayed) {
        assert_eq!(live, replayed, "event {} differs when replayed", live.0);
    }
    let completed = live
        .iter()
        .find(|(_, event, _)| event == "turn.completed")
        .expect("turn.completed");
    assert!(
        completed.2.contains("\"cost_usd\":0.013014000000000001"),
        "the turn's cost is the awkward float: {}",
        completed.2
    );
}
both_backends!(
    replayed_events_are_the_live_bytes,
    replayed_events_are_the_live_bytes
);
