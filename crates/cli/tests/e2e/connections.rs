//! Connection hygiene (issue 12, defect 4): sockets that send nothing, half
//! a request line, unfinished headers or headers without their body are
//! closed by the server within its timeouts; a flood of silent sockets from
//! one address does not keep `/readyz` from answering; an event stream that
//! is quiet for longer than every timeout stays open. And shutdown (defect
//! 3): SIGTERM refuses new connections at once and the process exits
//! within its deadline with a stream still open.

use std::time::{Duration, Instant};

use agentd_testkit::{FakeAnthropic, turn};
use futures::StreamExt;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{Backend, Server, git_repo};

/// Header and body timeouts of the servers here.
const TIMEOUT_SECS: u64 = 1;
/// How long past a timeout the server may take to close (a slow CI box).
const SLACK: Duration = Duration::from_secs(4);

async fn server_with(fake: &FakeAnthropic, extra: &[(&str, &str)]) -> Server {
    let secs = TIMEOUT_SECS.to_string();
    let mut env = vec![
        ("AGENTD_HEADER_TIMEOUT_SECS", secs.as_str()),
        ("AGENTD_BODY_TIMEOUT_SECS", secs.as_str()),
    ];
    env.extend_from_slice(extra);
    Server::start_with(Backend::Sqlite, fake, &env).await
}

fn addr(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection; returns what it sent and
/// how long that took. Panics if it is still open after `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut got = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(limit, read)
        .await
        .unwrap_or_else(|_| panic!("still open after {limit:?}"));
    (
        String::from_utf8_lossy(&got).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_silent_clients_are_closed_within_the_timeouts() {
    let fake = FakeAnthropic::start().await;
    let server = server_with(&fake, &[]).await;
    let limit = Duration::from_secs(TIMEOUT_SECS) + SLACK;
    let body_request = format!(
        "POST /api/v1/render/markdown HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"text\"",
        server.token
    );
    let cases: [(&str, &str); 4] = [
        ("silent", ""),
        ("partial request line", "GET /heal"),
        (
            "unfinished headers",
            "GET /healthz HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n",
        ),
        ("headers without the body", &body_request),
    ];
    // All at once, so the test takes one timeout, not four.
    let mut checks = Vec::new();
    for (name, prefix) in cases {
        let addr = addr(&server);
        let prefix = prefix.to_owned();
        checks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(&addr).await.unwrap();
            stream.write_all(prefix.as_bytes()).await.unwrap();
            let (answer, took) = read_until_closed(&mut stream, limit).await;
            (name, answer, took)
        }));
    }
    for check in checks {
        let (name, answer, took) = check.await.unwrap();
        assert!(
            took >= Duration::from_millis(500),
            "{name}: closed after {took:?}, before its timeout"
        );
        if name == "headers without the body" {
            // The handler was waiting for the body; it is told, and says so.
            assert!(answer.starts_with("HTTP/1.1 4"), "{name}: {answer}");
        }
    }
    // The server is unharmed.
    let res = server
        .anon
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_silent_sockets_from_one_address_does_not_block_readyz() {
    let fake = FakeAnthropic::start().await;
    // Long timeouts: only the per-address cap can help here.
    let server = Server::start_with(
        Backend::Sqlite,
        &fake,
        &[
            ("AGENTD_HEADER_TIMEOUT_SECS", "60"),
            ("AGENTD_MAX_IDLE_CONNECTIONS_PER_ADDRESS", "16"),
        ],
    )
    .await;
    let mut silent = Vec::new();
    for _ in 0..200 {
        silent.push(TcpStream::connect(addr(&server)).await.unwrap());
    }
    // New connections get a grace before a cap may close them (a burst of
    // real clients must not lose requests on their way).
    tokio::time::sleep(agentd_server::listen::DEFAULT_PENDING_GRACE + Duration::from_millis(300))
        .await;
    let started = Instant::now();
    let res = tokio::time::timeout(
        Duration::from_secs(10),
        server.anon.get(server.url("/readyz")).send(),
    )
    .await
    .expect("/readyz answers")
    .unwrap();
    assert_eq!(res.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(5));
    // The oldest silent sockets were closed to make room; the newest 16
    // (less the one /readyz used) are still held.
    let mut closed = 0;
    for stream in &mut silent {
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(Duration::from_millis(20), stream.read(&mut buf)).await;
        if let Ok(Ok(0) | Err(_)) = read {
            closed += 1;
        }
    }
    assert!(closed >= 200 - 16, "only {closed} of 200 closed");
    let metrics = server
        .anon
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("agentd_connections_dropped_total{reason=\"idle_per_address\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("agentd_open_files_limit "), "{metrics}");
}

/// A session whose first turn is over, for the stream tests.
async fn idle_session(server: &Server, fake: &FakeAnthropic) -> (String, u64, tempfile::TempDir) {
    fake.push(turn().text("hello"));
    let repo = git_repo();
    let id = server.create_session(repo.path(), "hi").await;
    server.wait_status(&id, &["idle"]).await;
    let last = server.events(&id).await.len() as u64;
    (id, last, repo)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_event_stream_outlives_the_timeouts() {
    let fake = FakeAnthropic::start().await;
    let server = server_with(&fake, &[]).await;
    let (id, last, _repo) = idle_session(&server, &fake).await;
    let res = server
        .http
        .get(server.url(&format!("/api/v1/sessions/{id}/events?after={last}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut events = eventsource_stream::EventStream::new(res.bytes_stream());
    // Quiet for three timeouts (SSE keepalives come every 15 s).
    tokio::time::sleep(Duration::from_secs(3 * TIMEOUT_SECS)).await;
    fake.push(turn().text("again"));
    let (status, _) = server
        .post(
            &format!("/api/v1/sessions/{id}/messages"),
            json!({"text": "more"}),
        )
        .await;
    assert_eq!(status, 202);
    let next = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event on the old stream")
        .expect("stream open")
        .expect("event");
    assert_eq!(next.id, (last + 1).to_string());
}

fn sigterm(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_refuses_new_connections_and_exits_within_the_deadline() {
    let fake = FakeAnthropic::start().await;
    let mut server = server_with(&fake, &[("AGENTD_SHUTDOWN_TIMEOUT_SECS", "3")]).await;
    let (id, last, _repo) = idle_session(&server, &fake).await;
    // Held open across the signal: a live event stream, a keep-alive
    // connection and one sending its headers slowly.
    let res = server
        .http
        .get(server.url(&format!("/api/v1/sessions/{id}/events?after={last}")))
        .send()
        .await
        .unwrap();
    let mut events = res.bytes_stream();
    let mut slow = TcpStream::connect(addr(&server)).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let pid = server.pid().unwrap();
    let started = Instant::now();
    sigterm(pid);
    // New connections are refused as soon as the listener is closed.
    let refused = async {
        loop {
            if TcpStream::connect(addr(&server)).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(1), refused)
        .await
        .expect("new connections refused within a second of SIGTERM");
    let exited = server.wait_exit(Duration::from_secs(3) + SLACK).await;
    let took = started.elapsed();
    assert!(exited.is_some(), "still running {took:?} after SIGTERM");
    assert!(
        exited.unwrap().success(),
        "exit status {exited:?}: {}",
        server.log()
    );
    // The stream ended (not cut mid-frame) and the slow client was closed.
    let rest = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(_)) = events.next().await {}
    })
    .await;
    assert!(rest.is_ok(), "the event stream still open");
    read_until_closed(&mut slow, Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_markdown_renders_bounded_and_the_server_stays_healthy() {
    let fake = FakeAnthropic::start().await;
    let server = Server::start(Backend::Sqlite, &fake).await;
    // The body: 900k `>` (pinned a core forever before).
    let started = Instant::now();
    let (status, body) = server
        .post(
            "/api/v1/render/markdown",
            json!({"text": ">".repeat(900_000)}),
        )
        .await;
    // Rendered (nesting cut at its limit) or refused as too complex within
    // the budget; never a hang.
    assert!(
        status == 200 || (status == 422 && body["error"]["code"] == "too_complex"),
        "{status} {body}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    let started = Instant::now();
    let res = server
        .anon
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_render_past_its_budget_is_too_complex() {
    let fake = FakeAnthropic::start().await;
    let server =
        Server::start_with(Backend::Sqlite, &fake, &[("AGENTD_RENDER_TIMEOUT_MS", "1")]).await;
    let text = "*a* _b_ `c` [d](e) <b>f</b>\n\n".repeat(15_000);
    let (status, body) = server
        .post("/api/v1/render/markdown", json!({"text": text}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "too_complex");
}
