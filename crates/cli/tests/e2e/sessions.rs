//! A session end to end through the public API: the agent writes a file,
//! runs bash and answers; events stream live and in order; follow-ups,
//! steering and cancel; on SQLite and on PostgreSQL.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use agentd_testkit::{FakeAnthropic, turn};
use serde_json::{Value, json};

use crate::common::{Backend, Server, git_repo, seqs, types};

fn is_final_status(data: &Value) -> bool {
    data["type"] == "session.status"
        && !["queued", "running", "blocked_on_approval"]
            .contains(&data["data"]["status"].as_str().unwrap_or(""))
}

async fn agent_writes_a_file_runs_bash_and_answers(backend: Backend) {
    let fake = FakeAnthropic::start().await;
    fake.push(
        turn()
            .thinking("I should write the file first.", "sig-plan-1")
            .text("Writing hello.txt.")
            .tool_use(
                "write_file",
                json!({"path": "hello.txt", "content": "hello\n"}),
            ),
    );
    fake.push(
        turn()
            .text("Now checking it.")
            .tool_use("bash", json!({"command": "cat hello.txt && echo checked"})),
    );
    fake.push(
        turn()
            .text("Done: hello.txt contains hello.")
            .delay_per_event(Duration::from_millis(40)),
    );
    let server = Server::start(backend, &fake).await;
    let repo = git_repo();

    let id = server
        .create_session(repo.path(), "Create hello.txt and check it")
        .await;
    let started = Instant::now();
    let mut arrivals = Vec::new();
    let frames = server
        .sse_until(&id, None, |data| {
            arrivals.push((
                data["type"].as_str().unwrap_or("").to_owned(),
                started.elapsed(),
            ));
            is_final_status(data)
        })
        .await;

    let events: Vec<Value> = frames.iter().map(|(_, _, data)| data.clone()).collect();
    // SSE ids are the seqs, contiguous from 1, and the event names match.
    assert_eq!(
        frames.iter().map(|f| f.0).collect::<Vec<_>>(),
        (1..=frames.len() as u64).collect::<Vec<_>>()
    );
    assert!(frames.iter().all(|(_, name, data)| data["type"] == *name));
    assert_eq!(seqs(&events), (1..=events.len() as u64).collect::<Vec<_>>());

    let kinds: Vec<String> = types(&events)
        .into_iter()
        .filter(|t| t != "text.delta" && t != "thinking.delta" && t != "tool.output")
        .collect();
    assert_eq!(
        kinds,
        [
            "session.status",
            "session.status",
            "turn.started",
            "message.started",
            "message.completed",
            "usage",
            "tool.started",
            "tool.completed",
            "file.changed",
            "message.started",
            "message.completed",
            "usage",
            "tool.started",
            "tool.completed",
            "message.started",
            "message.completed",
            "usage",
            "checkpoint.created",
            "turn.completed",
            "session.status",
        ]
    );
    let text: String = events
        .iter()
        .filter(|e| e["type"] == "text.delta")
        .map(|e| e["data"]["text"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        text,
        "Writing hello.txt.Now checking it.Done: hello.txt contains hello."
    );
    assert!(events.iter().any(|e| e["type"] == "thinking.delta"));
    let output: String = events
        .iter()
        .filter(|e| e["type"] == "tool.output")
        .map(|e| e["data"]["chunk"].as_str().unwrap_or(""))
        .collect();
    assert!(
        output.contains("hello\nchecked"),
        "bash output streamed: {output:?}"
    );
    let changed = events.iter().find(|e| e["type"] == "file.changed").unwrap();
    assert_eq!(
        changed["data"],
        json!({"path": "hello.txt", "change": "added", "lines_added": 1, "lines_removed": 0})
    );
    let done = events
        .iter()
        .find(|e| e["type"] == "turn.completed")
        .unwrap();
    assert_eq!(done["data"]["stop_reason"], "end_turn");

    // Deltas of the slow last message arrived while it was still streaming.
    let first_delta = arrivals
        .iter()
        .rposition(|(t, _)| t == "message.started")
        .unwrap();
    let completed = arrivals
        .iter()
        .rposition(|(t, _)| t == "turn.completed")
        .unwrap();
    assert!(arrivals[completed].1 - arrivals[first_delta].1 >= Duration::from_millis(150));

    // The agent worked in its own worktree on its own branch; the user's
    // checkout is untouched, and the turn's work is checkpointed.
    let session = server.wait_status(&id, &["idle"]).await;
    let worktree = PathBuf::from(session["workspace_path"].as_str().unwrap());
    assert_ne!(worktree, repo.path());
    assert_eq!(
        std::fs::read_to_string(worktree.join("hello.txt")).unwrap(),
        "hello\n"
    );
    assert!(!repo.path().join("hello.txt").exists());
    let branch = session["branch"].as_str().unwrap();
    assert!(branch.starts_with("agentd/"), "{branch}");
    let refs = std::process::Command::new("git")
        .args([
            "for-each-ref",
            "--format=%(refname)",
            "refs/agentd/checkpoints/",
        ])
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&refs.stdout).trim(),
        format!("refs/agentd/checkpoints/{id}/1")
    );
    assert_eq!(session["turns"], 1);
    assert!(session["usage"]["output_tokens"].as_u64().unwrap() > 0);
    assert_eq!(session["last_seq"], events.len() as u64);
    // The stored log is exactly what was streamed.
    assert_eq!(server.events(&id).await, events);
}
both_backends!(
    agent_writes_a_file_runs_bash_and_answers,
    agent_writes_a_file_runs_bash_and_answers
);

async fn follow_up_continues_the_conversation(backend: Backend) {
    let fake = FakeAnthropic::start().await;
    fake.push(
        turn()
            .thinking("plan", "sig-keep-me")
            .tool_use("bash", json!({"command": "echo first > a.txt"})),
    );
    fake.push(turn().text("Wrote a.txt."));
    let server = Server::start(backend, &fake).await;
    let repo = git_repo();
    let id = server.create_session(repo.path(), "write a.txt").await;
    server.wait_status(&id, &["idle"]).await;

    fake.push(turn().text("It says first."));
    let (status, body) = server
        .post(
            &format!("/api/v1/sessions/{id}/messages"),
            json!({"text": "what is in it?"}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["queued"], false);
    let session = server.wait_status(&id, &["idle"]).await;
    assert_eq!(session["turns"], 2);

    let requests = fake.message_requests();
    assert_eq!(requests.len(), 3);
    let messages = requests[2]["messages"].as_array().unwrap().clone();
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant", "user"]);
    // Thinking and its signature are passed back unchanged.
    let thinking = &messages[1]["content"][0];
    assert_eq!(thinking["type"], "thinking");
    assert_eq!(thinking["signature"], "sig-keep-me");
    assert_eq!(thinking["thinking"], "plan");
    // The tool result is there, then the new message.
    let result = &messages[2]["content"][0];
    assert_eq!(result["type"], "tool_result");
    assert!(
        result["content"].as_str().unwrap().contains("exit code: 0"),
        "{result}"
    );
    let last = messages[4]["content"].as_array().unwrap();
    assert_eq!(last.last().unwrap()["text"], "what is in it?");
}
both_backends!(
    follow_up_continues_the_conversation,
    follow_up_continues_the_conversation
);

async fn cancel_kills_a_long_command_within_a_second(backend: Backend) {
    let fake = FakeAnthropic::start().await;
    // A unique duration marks the processes; inside the sandbox's pid
    // namespace `$$` means nothing to the host, so they are found by it.
    // Unique to this test process: the backend variants run side by side.
    let marker = format!("37{}", std::process::id());
    fake.push(turn().tool_use(
        "bash",
        json!({"command": format!("sleep {marker} & sleep {marker} & touch started; wait")}),
    ));
    let server = Server::start(backend, &fake).await;
    let repo = git_repo();
    let id = server
        .create_session(repo.path(), "run something long")
        .await;

    let started = server.workspace_of(&id).await.join("started");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !started.exists() {
        assert!(
            Instant::now() < deadline,
            "the command never started: {}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // `started` can appear before the second `&` child has exec'd `sleep`
    // (it is still a forked shell a moment longer): wait for both.
    let mut pids = processes_running(&marker);
    while pids.len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        pids = processes_running(&marker);
    }
    assert_eq!(
        pids.len(),
        2,
        "both sleeps are visible from the host: {pids:?}"
    );

    let asked = Instant::now();
    let (status, body) = server
        .post(&format!("/api/v1/sessions/{id}/cancel"), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    loop {
        let alive: Vec<_> = pids.iter().filter(|p| !is_zombie(**p)).collect();
        if alive.is_empty() {
            break;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(1),
            "still running after 1 s: {alive:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(body["status"], "cancelled");
    let events = server.events(&id).await;
    let done = events
        .iter()
        .find(|e| e["type"] == "turn.completed")
        .unwrap();
    assert_eq!(done["data"]["stop_reason"], "cancelled");
    assert_eq!(events.last().unwrap()["data"]["status"], "cancelled");
    let tool = events
        .iter()
        .find(|e| e["type"] == "tool.completed")
        .unwrap();
    assert_eq!(tool["data"]["ok"], false);

    // The conversation stays valid: the next turn carries the cancelled
    // call's result.
    fake.push(turn().text("ok, stopped"));
    server
        .post(
            &format!("/api/v1/sessions/{id}/messages"),
            json!({"text": "fine"}),
        )
        .await;
    server.wait_status(&id, &["idle"]).await;
    let last = fake.message_requests().pop().unwrap();
    let messages = last["messages"].as_array().unwrap();
    assert_eq!(messages[2]["content"][0]["type"], "tool_result");
    assert_eq!(messages[2]["content"][0]["is_error"], true);
}
both_backends!(
    cancel_kills_a_long_command_within_a_second,
    cancel_kills_a_long_command_within_a_second
);

/// Host pids of live processes whose command line has `marker` as an argument.
fn processes_running(marker: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| c.split(|b| *b == 0).any(|arg| arg == marker.as_bytes()))
                .unwrap_or(false)
        })
        .filter(|pid| !is_zombie(*pid))
        .collect()
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_while_running_are_queued_and_steers_injected() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().tool_use("bash", json!({"command": "sleep 1"})));
    fake.push(turn().text("first turn done"));
    fake.push(turn().text("second turn done"));
    let server = Server::start(Backend::Sqlite, &fake).await;
    let repo = git_repo();
    let id = server.create_session(repo.path(), "start").await;
    server
        .sse_until(&id, None, |d| d["type"] == "tool.started")
        .await;

    let (status, steer) = server
        .post(
            &format!("/api/v1/sessions/{id}/steer"),
            json!({"text": "also mind the tests"}),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(steer["queued"], true);
    let (_, queued) = server
        .post(
            &format!("/api/v1/sessions/{id}/messages"),
            json!({"text": "then do more"}),
        )
        .await;
    assert_eq!(queued["queued"], true);

    let deadline = Instant::now() + Duration::from_secs(15);
    while fake.message_requests().len() < 3 {
        assert!(Instant::now() < deadline, "{}", server.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let session = server.wait_status(&id, &["idle"]).await;
    assert_eq!(session["turns"], 2);
    let requests = fake.message_requests();
    // The steer rode along with the tool result in the same turn.
    let second = requests[1]["messages"].as_array().unwrap();
    let after_tool = second.last().unwrap()["content"].as_array().unwrap();
    assert_eq!(after_tool[0]["type"], "tool_result");
    assert_eq!(after_tool[1]["text"], "also mind the tests");
    // The queued message became the next turn.
    let third = requests[2]["messages"].as_array().unwrap();
    assert_eq!(
        third.last().unwrap()["content"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["text"],
        "then do more"
    );
    let events = server.events(&id).await;
    let queued_events: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "input.queued")
        .collect();
    assert_eq!(queued_events.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_get_and_delete() {
    let fake = FakeAnthropic::start().await;
    fake.set_default(turn().text("ok"));
    let server = Server::start(Backend::Sqlite, &fake).await;
    let repo = git_repo();
    let a = server.create_session(repo.path(), "first").await;
    let b = server
        .create_session(repo.path(), "second\nmore lines")
        .await;
    server.wait_status(&a, &["idle"]).await;
    server.wait_status(&b, &["idle"]).await;

    let (_, list) = server.get("/api/v1/sessions?limit=1").await;
    assert_eq!(list["sessions"][0]["id"], b.as_str());
    assert_eq!(list["sessions"][0]["title"], "second");
    assert_eq!(list["next_before"], b.as_str());
    let (_, page2) = server
        .get(&format!("/api/v1/sessions?limit=1&before={b}"))
        .await;
    assert_eq!(page2["sessions"][0]["id"], a.as_str());
    let (_, idle) = server.get("/api/v1/sessions?status=idle").await;
    assert_eq!(idle["sessions"].as_array().unwrap().len(), 2);
    let (_, none) = server.get("/api/v1/sessions?status=failed").await;
    assert_eq!(none["sessions"].as_array().unwrap().len(), 0);

    let res = server
        .http
        .delete(server.url(&format!("/api/v1/sessions/{a}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let (status, body) = server.get(&format!("/api/v1/sessions/{a}")).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, _) = server
        .get(&format!("/api/v1/sessions/{a}/events?format=json"))
        .await;
    assert_eq!(status, 404);
}
