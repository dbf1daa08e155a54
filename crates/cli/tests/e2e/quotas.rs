//! Quotas and spend caps end to end: budgets checked before every model
//! call pause a session (`paused`, reason `budget`, a `budget.exceeded`
//! event), the owner or an admin raising a cap resumes it, session limits
//! refuse new sessions with 429, and the usage endpoints report the ledger.

use std::time::Duration;

use agentd_testkit::{FakeAnthropic, turn};
use serde_json::{Value, json};

use crate::common::{Backend, Server, send};

/// A config file with `[limits]` for the server.
fn limits_config(dir: &std::path::Path, limits: &str) -> String {
    let path = dir.join("agentd.toml");
    std::fs::write(&path, format!("[limits]\n{limits}\n")).unwrap();
    path.to_string_lossy().into_owned()
}

async fn create_as(server: &Server, http: &reqwest::Client, body: Value) -> (u16, Value) {
    send(http.post(server.url("/api/v1/sessions")).json(&body)).await
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

async fn daily_budget_pauses_and_a_raised_cap_resumes(backend: Backend) {
    let fake = FakeAnthropic::start().await;
    fake.push(
        turn()
            .tool_use("bash", json!({"command": "echo one"}))
            .usage(1000, 100, 0, 0),
    );
    fake.push(
        turn()
            .tool_use("bash", json!({"command": "echo two"}))
            .usage(1000, 100, 0, 0),
    );
    fake.push(turn().text("done").usage(10, 5, 0, 0));
    let config_dir = tempfile::tempdir().unwrap();
    let config = limits_config(config_dir.path(), "daily_tokens = 1500");
    let server = Server::start_with(backend, &fake, &[("AGENTD_CONFIG", &config)]).await;
    let alice = server.member("alice").await;
    let workspace = tempfile::tempdir().unwrap();
    let (status, session) = create_as(
        &server,
        &alice.http,
        json!({"prompt": "work", "workspace": {"path": workspace.path()}}),
    )
    .await;
    assert_eq!(status, 201, "{session}");
    let id = session["id"].as_str().unwrap().to_owned();

    // Two calls fit (1100 tokens < 1500); the third is held back.
    let paused = server.wait_status(&id, &["paused"]).await;
    assert_eq!(paused["status_reason"], "budget", "{paused}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.requests().len(), 2, "no model call while paused");
    let events = server.events(&id).await;
    let exceeded = of_type(&events, "budget.exceeded");
    assert_eq!(exceeded.len(), 1, "{events:?}");
    let data = &exceeded[0]["data"];
    assert_eq!(data["scope"], "day");
    assert_eq!(data["metric"], "tokens");
    assert_eq!(data["limit"], 1500.0);
    assert_eq!(data["used"], 2200.0);
    assert!(
        data["message"]
            .as_str()
            .unwrap()
            .contains("daily token budget")
    );

    // The owner sees the ledger and the limit behind the pause.
    let (status, usage) = send(alice.http.get(server.url("/api/v1/usage"))).await;
    assert_eq!(status, 200, "{usage}");
    assert_eq!(usage["today"]["tokens"], 2200);
    assert_eq!(usage["today"]["input_tokens"], 2000);
    assert_eq!(usage["month"]["tokens"], 2200);
    assert_eq!(usage["limits"]["daily_tokens"], 1500);
    assert_eq!(usage["sessions"], 1);

    // Resuming while still over the cap is refused, and says why.
    let (status, body) = send(
        alice
            .http
            .post(server.url(&format!("/api/v1/sessions/{id}/resume"))),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "budget_exceeded");

    // Members cannot raise their own limits or see everyone's usage.
    let quotas = format!("/api/v1/users/{}/quotas", alice.id);
    let (status, _) = send(
        alice
            .http
            .put(server.url(&quotas))
            .json(&json!({"daily_tokens": 100000})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = send(alice.http.get(server.url("/api/v1/admin/usage"))).await;
    assert_eq!(status, 403);

    // An admin raising the cap resumes the session at once.
    let (status, view) = send(
        server
            .http
            .put(server.url(&quotas))
            .json(&json!({"daily_tokens": 100000})),
    )
    .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["overrides"]["daily_tokens"], 100000);
    assert_eq!(view["effective"]["daily_tokens"], 100000);
    let idle = server.wait_status(&id, &["idle"]).await;
    assert_eq!(idle["usage"]["input_tokens"], 2010, "{idle}");
    assert_eq!(fake.requests().len(), 3);
    let statuses: Vec<String> = of_type(&server.events(&id).await, "session.status")
        .iter()
        .map(|e| e["data"]["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        statuses,
        ["queued", "running", "paused", "running", "idle"],
        "{statuses:?}"
    );

    let (status, all) = send(server.http.get(server.url("/api/v1/admin/usage"))).await;
    assert_eq!(status, 200, "{all}");
    let row = all["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "alice")
        .expect("alice in the admin view")
        .clone();
    assert_eq!(row["today"]["tokens"], 2215);
    assert_eq!(row["limits"]["daily_tokens"], 100000);
    // The quota change is in the audit log.
    let (_, audit) = server.get("/api/v1/audit?action=user.quotas").await;
    assert!(audit.to_string().contains(&alice.id), "{audit}");
}

both_backends!(daily_budget, daily_budget_pauses_and_a_raised_cap_resumes);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_budget_is_raised_by_its_owner_on_resume() {
    let fake = FakeAnthropic::start().await;
    fake.push(
        turn()
            .tool_use("bash", json!({"command": "echo one"}))
            .usage(500, 100, 0, 0),
    );
    fake.push(turn().text("finished").usage(10, 10, 0, 0));
    let server = Server::start(Backend::Sqlite, &fake).await;
    let bob = server.member("bob").await;
    let workspace = tempfile::tempdir().unwrap();
    let (status, body) = create_as(
        &server,
        &bob.http,
        json!({"prompt": "p", "workspace": {"path": workspace.path()}, "budget": {"tokens": 0}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed");
    let (status, session) = create_as(
        &server,
        &bob.http,
        json!({"prompt": "p", "workspace": {"path": workspace.path()}, "budget": {"tokens": 600}}),
    )
    .await;
    assert_eq!(status, 201, "{session}");
    let id = session["id"].as_str().unwrap();
    server.wait_status(id, &["paused"]).await;
    let events = server.events(id).await;
    let exceeded = of_type(&events, "budget.exceeded");
    assert_eq!(exceeded[0]["data"]["scope"], "session");
    assert_eq!(exceeded[0]["data"]["used"], 600.0);

    // Another member cannot resume it (it is not theirs to see).
    let eve = server.member("eve").await;
    let resume = format!("/api/v1/sessions/{id}/resume");
    let (status, _) = send(eve.http.post(server.url(&resume))).await;
    assert_eq!(status, 404);
    // Raising it too little keeps it paused; enough resumes it.
    let (status, body) = send(
        bob.http
            .post(server.url(&resume))
            .json(&json!({"budget": {"tokens": 600}})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = send(
        bob.http
            .post(server.url(&resume))
            .json(&json!({"budget": {"tokens": 5000}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    server.wait_status(id, &["idle"]).await;
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_on_request_holds_the_next_model_call_until_resume() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().tool_use("bash", json!({"command": "sleep 1"})));
    fake.push(turn().text("after the pause"));
    let server = Server::start(Backend::Sqlite, &fake).await;
    let workspace = tempfile::tempdir().unwrap();
    let id = server.create_session(workspace.path(), "slow").await;
    fake.wait_for_requests(1, Duration::from_secs(10)).await;
    let (status, body) = server
        .post(&format!("/api/v1/sessions/{id}/pause"), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let paused = server.wait_status(&id, &["paused"]).await;
    assert_eq!(paused["status_reason"], "paused by request");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.requests().len(), 1);
    let (status, _) = server
        .post(&format!("/api/v1/sessions/{id}/resume"), json!({}))
        .await;
    assert_eq!(status, 200);
    server.wait_status(&id, &["idle"]).await;
    assert_eq!(fake.requests().len(), 2);
    // Only working sessions pause, only paused ones resume.
    let (status, body) = server
        .post(&format!("/api/v1/sessions/{id}/pause"), json!({}))
        .await;
    assert_eq!((status, &body["error"]["code"]), (409, &json!("conflict")));
    let (status, _) = server
        .post(&format!("/api/v1/sessions/{id}/resume"), json!({}))
        .await;
    assert_eq!(status, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_limits_refuse_new_sessions_with_429() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().tool_use("bash", json!({"command": "sleep 1"})));
    fake.set_default(turn().text("ok"));
    let config_dir = tempfile::tempdir().unwrap();
    let config = limits_config(
        config_dir.path(),
        "max_running_sessions = 1\nmax_sessions = 2",
    );
    let server = Server::start_with(Backend::Sqlite, &fake, &[("AGENTD_CONFIG", &config)]).await;
    let carol = server.member("carol").await;
    let workspace = tempfile::tempdir().unwrap();
    let body = json!({"prompt": "p", "workspace": {"path": workspace.path()}});
    let (status, first) = create_as(&server, &carol.http, body.clone()).await;
    assert_eq!(status, 201);
    let first = first["id"].as_str().unwrap().to_owned();
    let (status, refused) = create_as(&server, &carol.http, body.clone()).await;
    assert_eq!(status, 429, "{refused}");
    assert_eq!(refused["error"]["code"], "quota_exceeded");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("running")
    );
    // Another user's limit is their own.
    let (status, _) = create_as(&server, &server.http, body.clone()).await;
    assert_eq!(status, 201);

    server.wait_status(&first, &["idle"]).await;
    let (status, second) = create_as(&server, &carol.http, body.clone()).await;
    assert_eq!(status, 201);
    server
        .wait_status(second["id"].as_str().unwrap(), &["idle"])
        .await;
    let (status, refused) = create_as(&server, &carol.http, body.clone()).await;
    assert_eq!(status, 429);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("keep 2")
    );
    let (status, _) = send(
        carol
            .http
            .delete(server.url(&format!("/api/v1/sessions/{first}"))),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = create_as(&server, &carol.http, body).await;
    assert_eq!(status, 201);
}
