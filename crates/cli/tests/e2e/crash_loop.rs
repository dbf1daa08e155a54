//! `kill -9` at random moments while many sessions take follow-ups, then
//! restart, again and again: every acknowledged input runs exactly once, no
//! completed turn is marked again, every session row agrees with its event
//! log, and resuming a stream from any point gives exactly the rest.
//!
//! Bounded here (a few kills over a few dozen sessions per backend). The long
//! run is `scripts/crash-loop` (10 rounds over 100 sessions by default),
//! sized through `AGENTD_CRASH_LOOP_SESSIONS`, `AGENTD_CRASH_LOOP_KILLS` and
//! `AGENTD_CRASH_LOOP_SEED` (printed on failure, to replay a run).

use std::collections::HashMap;
use std::time::Duration;

use agentd_testkit::{FakeAnthropic, turn};
use serde_json::{Value, json};

use crate::common::{Backend, Server, git_repo, seqs};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the client was told: session id → the texts acknowledged for it.
type Acked = HashMap<String, Vec<String>>;

/// POST a JSON body; `None` when the server did not answer (it was killed).
async fn try_post(http: &reqwest::Client, url: String, body: Value) -> Option<(u16, Value)> {
    let res = http.post(url).json(&body).send().await.ok()?;
    let status = res.status().as_u16();
    let body = res.json().await.ok()?;
    Some((status, body))
}

async fn crash_loop(backend: Backend) {
    let sessions = env_or("AGENTD_CRASH_LOOP_SESSIONS", 16) as usize;
    let kills = env_or("AGENTD_CRASH_LOOP_KILLS", 4);
    let seed = env_or("AGENTD_CRASH_LOOP_SEED", fastrand::u64(..));
    let mut rng = fastrand::Rng::with_seed(seed);
    let context = format!("seed {seed} ({sessions} sessions, {kills} kills)");

    let fake = FakeAnthropic::start().await;
    // Slow replies, so kills land mid-stream; some turns use a tool first.
    fake.set_default(
        turn()
            .text("Done with that one.")
            .delay_per_event(Duration::from_millis(15)),
    );
    for _ in 0..sessions {
        fake.push(turn().tool_use("bash", json!({"command": "echo working"})));
    }
    let mut server = Server::start(backend, &fake).await;
    let repo = git_repo();
    let workspace = repo.path().to_string_lossy().into_owned();
    let mut acked: Acked = HashMap::new();
    let mut next_text = 0u64;
    let mut text = || {
        next_text += 1;
        format!("input {next_text}")
    };

    // Half the sessions exist before the first kill; the rest are created
    // (and their first prompts acknowledged) inside the kill windows.
    for _ in 0..sessions / 2 {
        let prompt = text();
        let id = server.create_session(repo.path(), &prompt).await;
        acked.entry(id).or_default().push(prompt);
    }

    for round in 0..kills {
        let http = server.http.clone();
        let ids: Vec<String> = acked.keys().cloned().collect();
        let mut requests = Vec::new();
        let creating = if round < 2 { sessions / 4 } else { 0 };
        for _ in 0..creating {
            let prompt = text();
            let delay = Duration::from_millis(rng.u64(0..400));
            let url = server.url("/api/v1/sessions");
            let body = json!({"prompt": prompt, "workspace": {"path": workspace}});
            let http = http.clone();
            requests.push(tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                match try_post(&http, url, body).await {
                    Some((201, body)) => Some((body["id"].as_str()?.to_owned(), prompt)),
                    _ => None,
                }
            }));
        }
        for _ in 0..sessions {
            let id = ids[rng.usize(..ids.len())].clone();
            let message = text();
            let delay = Duration::from_millis(rng.u64(0..600));
            let url = server.url(&format!("/api/v1/sessions/{id}/messages"));
            let http = http.clone();
            requests.push(tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                match try_post(&http, url, json!({"text": message})).await {
                    Some((202, _)) => Some((id, message)),
                    _ => None,
                }
            }));
        }
        // Most requests are answered before the kill, some are cut off.
        tokio::time::sleep(Duration::from_millis(rng.u64(200..900))).await;
        server.kill9().await;
        for request in requests {
            if let Some((id, text)) = request.await.unwrap() {
                acked.entry(id).or_default().push(text);
            }
        }
        server.restart().await;
    }

    // Everything acknowledged now runs to the end.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    for id in acked.keys() {
        loop {
            let (_, body) = server.get(&format!("/api/v1/sessions/{id}")).await;
            let settled = !["queued", "running"].contains(&body["status"].as_str().unwrap_or(""));
            if settled {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{context}: session {id} never settled: {body}\n{}",
                server.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    let mut started_total = 0;
    for (id, texts) in &acked {
        let events = server.events(id).await;
        let (_, row) = server.get(&format!("/api/v1/sessions/{id}")).await;
        assert_eq!(
            seqs(&events),
            (1..=events.len() as u64).collect::<Vec<_>>(),
            "{context}: {id}: seq has a gap or a duplicate"
        );

        // Each acknowledged input started exactly one turn; nothing ran twice.
        let mut started: Vec<(u64, String)> = Vec::new();
        let mut completed: Vec<u64> = Vec::new();
        for event in &events {
            match event["type"].as_str() {
                Some("turn.started") => started.push((
                    event["data"]["turn"].as_u64().unwrap(),
                    event["data"]["input"].as_str().unwrap().to_owned(),
                )),
                Some("turn.completed") => {
                    let turn = event["data"]["turn"].as_u64().unwrap();
                    assert_eq!(
                        started.last().map(|s| s.0),
                        Some(turn),
                        "{context}: {id}: turn.completed for turn {turn} that is not the open one"
                    );
                    completed.push(turn);
                }
                _ => {}
            }
        }
        for text in texts {
            let runs = started.iter().filter(|(_, t)| t == text).count();
            assert_eq!(
                runs, 1,
                "{context}: {id}: acknowledged {text:?} ran {runs} times"
            );
        }
        let mut inputs: Vec<&String> = started.iter().map(|(_, t)| t).collect();
        inputs.sort();
        inputs.dedup();
        assert_eq!(
            inputs.len(),
            started.len(),
            "{context}: {id}: an input ran twice"
        );
        let numbers: Vec<u64> = started.iter().map(|s| s.0).collect();
        assert_eq!(
            numbers,
            (1..=started.len() as u64).collect::<Vec<_>>(),
            "{context}: {id}: turns are numbered in order"
        );
        assert_eq!(
            completed, numbers,
            "{context}: {id}: every turn completed exactly once"
        );
        started_total += started.len();

        // The row says what the log says.
        let last_status = events
            .iter()
            .rev()
            .find(|e| e["type"] == "session.status")
            .map(|e| e["data"]["status"].clone());
        assert_eq!(
            Some(row["status"].clone()),
            last_status,
            "{context}: {id}: row and log disagree"
        );
        assert_eq!(row["turns"], json!(started.len()), "{context}: {id}");
        assert_eq!(row["last_seq"], json!(events.len()), "{context}: {id}");
    }
    let acked_total: usize = acked.values().map(Vec::len).sum();
    assert!(started_total >= acked_total, "{context}");
    // The long run (scripts/crash-loop) reports these.
    println!(
        "crash loop: {context}: {} sessions, {acked_total} acknowledged inputs, {started_total} turns, 0 lost",
        acked.len()
    );

    // A stream resumed from a random point gives exactly the rest.
    let ids: Vec<&String> = acked.keys().collect();
    for _ in 0..4 {
        let id = ids[rng.usize(..ids.len())];
        let events = server.events(id).await;
        let from = rng.u64(0..events.len() as u64);
        let last = events.last().unwrap().clone();
        let frames = server.sse_until(id, Some(from), |d| d == &last).await;
        assert_eq!(
            frames.iter().map(|f| f.0).collect::<Vec<_>>(),
            (from + 1..=events.len() as u64).collect::<Vec<_>>(),
            "{context}: {id}: resume from {from}"
        );
        for (frame, event) in frames.iter().zip(&events[from as usize..]) {
            assert_eq!(&frame.2, event, "{context}: {id}: replayed event differs");
        }
    }
}

both_backends!(
    kill_9_at_random_moments_loses_no_acknowledged_input,
    crash_loop
);
