//! `kill -9` of the server in the middle of a turn, then a restart: every
//! acknowledged session, message and event is there, the running turn is
//! marked interrupted, streams resume with no gap, and the conversation
//! continues (including a message acknowledged just before the crash).

use std::time::{Duration, Instant};

use agentd_testkit::{FakeAnthropic, turn};
use serde_json::{Value, json};

use crate::common::{Backend, Server, git_repo, seqs};

async fn kill_9_mid_turn_loses_nothing_acknowledged(backend: Backend) {
    let fake = FakeAnthropic::start().await;
    fake.push(
        turn()
            .text("Starting a long job.")
            .tool_use("bash", json!({"command": "echo started; sleep 5"})),
    );
    let mut server = Server::start(backend, &fake).await;
    let repo = git_repo();
    let id = server.create_session(repo.path(), "do the long job").await;
    server
        .sse_until(&id, None, |d| d["type"] == "tool.output")
        .await;
    let (status, queued) = server
        .post(
            &format!("/api/v1/sessions/{id}/messages"),
            json!({"text": "after that, say hi"}),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(queued["queued"], true);
    let before = server.events(&id).await;
    let acked = before.len() as u64;

    // The recovered queued message runs first, then the follow-up.
    fake.push(turn().text("hi"));
    server.restart().await;

    let session = server.wait_status(&id, &["idle"]).await;
    let after = server.events(&id).await;
    assert_eq!(
        &after[..before.len()],
        &before[..],
        "acknowledged events survived unchanged"
    );
    assert_eq!(
        seqs(&after),
        (1..=after.len() as u64).collect::<Vec<_>>(),
        "no gap"
    );
    let tail: Vec<(String, Value)> = after[before.len()..]
        .iter()
        .take(3)
        .map(|e| (e["type"].as_str().unwrap().to_owned(), e["data"].clone()))
        .collect();
    assert_eq!(tail[0].0, "error");
    assert_eq!(tail[0].1["code"], "interrupted");
    assert_eq!(tail[1].0, "turn.completed");
    assert_eq!(tail[1].1["stop_reason"], "interrupted");
    assert_eq!(tail[1].1["turn"], 1);
    assert_eq!(
        tail[2].1,
        json!({"status": "interrupted", "reason": "the server stopped while this turn was running"})
    );
    assert_eq!(session["turns"], 2);

    // A reconnecting SSE client gets exactly the rest.
    let last = after.last().unwrap().clone();
    let frames = server.sse_until(&id, Some(acked), |d| d == &last).await;
    assert_eq!(
        frames.iter().map(|f| f.0).collect::<Vec<_>>(),
        (acked + 1..=after.len() as u64).collect::<Vec<_>>()
    );

    // The model saw the interrupted call answered, then the queued message.
    let request = fake.message_requests().pop().unwrap();
    let messages = request["messages"].as_array().unwrap();
    let result = &messages[2]["content"][0];
    assert_eq!(result["type"], "tool_result");
    assert_eq!(result["is_error"], true);
    assert!(
        result["content"].as_str().unwrap().contains("interrupted"),
        "{result}"
    );
    assert_eq!(messages[2]["content"][1]["text"], "after that, say hi");

    // And the user can carry on.
    fake.push(turn().text("still here"));
    server
        .post(
            &format!("/api/v1/sessions/{id}/messages"),
            json!({"text": "you there?"}),
        )
        .await;
    let started = Instant::now();
    let session = server.wait_status(&id, &["idle"]).await;
    assert_eq!(session["turns"], 3, "took {:?}", started.elapsed());
    let _ = Duration::ZERO;
}
both_backends!(
    kill_9_mid_turn_loses_nothing_acknowledged,
    kill_9_mid_turn_loses_nothing_acknowledged
);

async fn after_a_crash_the_last_checkpoint_is_there_and_rollback_restores_it(backend: Backend) {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().tool_use("write_file", json!({"path": "a.txt", "content": "v1\n"})));
    fake.push(turn().text("wrote v1"));
    let mut server = Server::start(backend, &fake).await;
    let repo = git_repo();
    let id = server.create_session(repo.path(), "write v1").await;
    server.wait_status(&id, &["idle"]).await;
    let worktree = server.workspace_of(&id).await;

    // Turn 2 changes things, then the server dies in the middle of it.
    fake.push(turn().tool_use("write_file", json!({"path": "a.txt", "content": "v2\n"})));
    fake.push(turn().tool_use("write_file", json!({"path": "b.txt", "content": "new\n"})));
    fake.push(turn().tool_use("bash", json!({"command": "echo working; sleep 20"})));
    server
        .post(
            &format!("/api/v1/sessions/{id}/messages"),
            json!({"text": "now v2"}),
        )
        .await;
    server
        .sse_until(&id, None, |d| d["type"] == "tool.output")
        .await;
    server.restart().await;
    server.wait_status(&id, &["interrupted"]).await;
    assert_eq!(
        std::fs::read_to_string(worktree.join("a.txt")).unwrap(),
        "v2\n"
    );

    let (status, list) = server
        .get(&format!("/api/v1/sessions/{id}/checkpoints"))
        .await;
    assert_eq!(status, 200, "{list}");
    let turns: Vec<u64> = list["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["turn"].as_u64().unwrap())
        .collect();
    assert_eq!(
        turns,
        [1],
        "turn 1 finished and was saved; turn 2 never finished"
    );

    let (status, body) = server
        .post(
            &format!("/api/v1/sessions/{id}/rollback"),
            json!({"turn": 1}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        std::fs::read_to_string(worktree.join("a.txt")).unwrap(),
        "v1\n"
    );
    assert!(!worktree.join("b.txt").exists());
    let events = server.events(&id).await;
    assert_eq!(events.last().unwrap()["type"], "checkpoint.restored");
    let (status, body) = server
        .post(
            &format!("/api/v1/sessions/{id}/rollback"),
            json!({"turn": 7}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str().unwrap()),
        (404, "not_found")
    );
}
both_backends!(
    after_a_crash_the_last_checkpoint_is_there_and_rollback_restores_it,
    after_a_crash_the_last_checkpoint_is_there_and_rollback_restores_it
);

/// A second server on the same data dir or database would take the first's
/// running turns for dead and run its queued inputs a second time: it is
/// refused at start with a clear error, and the first keeps serving.
async fn a_second_server_on_the_same_database_is_refused(backend: Backend) {
    let fake = FakeAnthropic::start().await;
    let server = Server::start(backend, &fake).await;
    let mut second = server.serve_command();
    let out = tokio::task::spawn_blocking(move || second.output())
        .await
        .unwrap()
        .unwrap();
    assert!(!out.status.success(), "the second server must not start");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("in use by another agentd process"),
        "unclear error: {stderr}"
    );
    let (status, _) = server.get("/api/v1/sessions").await;
    assert_eq!(status, 200, "the first server keeps serving");
}

both_backends!(
    a_second_server_is_refused,
    a_second_server_on_the_same_database_is_refused
);
