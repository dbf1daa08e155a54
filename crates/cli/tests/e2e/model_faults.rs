//! How a session rides out model failures: overloads and rate limits are
//! retried, bad requests fail the turn with a stable code, a broken stream
//! is retried without running any tool twice.

use std::time::{Duration, Instant};

use agentd_testkit::{Failure, FakeAnthropic, Reply, turn};
use serde_json::json;

use crate::common::{Backend, Server, git_repo};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overloaded_twice_then_success_completes() {
    let fake = FakeAnthropic::start().await;
    fake.push_failures(2, Failure::overloaded());
    fake.push(turn().text("made it"));
    let server = Server::start(Backend::Sqlite, &fake).await;
    let repo = git_repo();
    let id = server.create_session(repo.path(), "hi").await;
    server.wait_status(&id, &["idle"]).await;
    assert_eq!(fake.message_requests().len(), 3);
    let events = server.events(&id).await;
    assert!(
        events.iter().all(|e| e["type"] != "error"),
        "retries before a stream opens are silent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_waits_for_retry_after() {
    let fake = FakeAnthropic::start().await;
    fake.push(Reply::failure(Failure::rate_limited(1)));
    fake.push(turn().text("after waiting"));
    let server = Server::start(Backend::Sqlite, &fake).await;
    let repo = git_repo();
    let started = Instant::now();
    let id = server.create_session(repo.path(), "hi").await;
    server.wait_status(&id, &["idle"]).await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "retried before retry-after"
    );
    assert_eq!(fake.message_requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_request_fails_the_turn_with_a_stable_code() {
    let fake = FakeAnthropic::start().await;
    fake.push(Reply::failure(Failure::bad_request(
        "messages: roles must alternate",
    )));
    let server = Server::start(Backend::Sqlite, &fake).await;
    let repo = git_repo();
    let id = server.create_session(repo.path(), "hi").await;
    let session = server.wait_status(&id, &["failed"]).await;
    assert!(
        session["status_reason"]
            .as_str()
            .unwrap()
            .contains("roles must alternate")
    );
    assert_eq!(fake.message_requests().len(), 1, "a 400 is not retried");
    let events = server.events(&id).await;
    let error = events.iter().find(|e| e["type"] == "error").unwrap();
    assert_eq!(error["data"]["code"], "model_invalid_request");
    assert_eq!(error["data"]["retryable"], false);
    let done = events
        .iter()
        .find(|e| e["type"] == "turn.completed")
        .unwrap();
    assert_eq!(done["data"]["stop_reason"], "error");
    // The secret never reaches events or the log.
    let all = serde_json::to_string(&events).unwrap();
    assert!(!all.contains("sk-ant-test-key-e2e"));
    assert!(!server.log().contains("sk-ant-test-key-e2e"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_stream_is_retried_and_no_tool_runs_twice() {
    let fake = FakeAnthropic::start().await;
    let call = json!({"command": "echo ran >> count.txt"});
    fake.push(
        turn()
            .text("Appending.")
            .tool_use("bash", call.clone())
            .disconnect_after(9),
    );
    fake.push(turn().text("Appending.").tool_use("bash", call));
    fake.push(turn().text("done"));
    let server = Server::start(Backend::Sqlite, &fake).await;
    let repo = git_repo();
    let id = server.create_session(repo.path(), "append once").await;
    server.wait_status(&id, &["idle"]).await;
    assert_eq!(
        std::fs::read_to_string(server.workspace_of(&id).await.join("count.txt")).unwrap(),
        "ran\n"
    );
    let events = server.events(&id).await;
    let error = events.iter().find(|e| e["type"] == "error").unwrap();
    assert_eq!(error["data"]["code"], "model_stream_interrupted");
    assert_eq!(error["data"]["retryable"], true);
    assert_eq!(
        events
            .iter()
            .filter(|e| e["type"] == "tool.started")
            .count(),
        1
    );
    assert_eq!(fake.message_requests().len(), 3);
}
