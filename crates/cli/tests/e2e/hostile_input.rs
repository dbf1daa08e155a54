//! Input the store cannot hold and names that collide: refused with the
//! field or the name said, before anything was made, never as "could not
//! reach its database; try again" (issue 12, defects 6, 8 and 10).

use agentd_testkit::{FakeAnthropic, turn};
use serde_json::{Value, json};

use crate::common::{Backend, Server, git, git_repo};

/// 2^63: fits a u64, one past what a signed 64-bit column holds.
const TOO_BIG: u64 = 1 << 63;

fn assert_refused(status: u16, body: &Value, field: &str) {
    assert_eq!(status, 422, "{field}: {body}");
    assert_eq!(body["error"]["code"], "validation_failed", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with(&format!("{field}: ")), "{message}");
    assert!(!message.contains("database"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_past_i64_are_refused_by_field_before_anything_is_made() {
    let fake = FakeAnthropic::start().await;
    let server = Server::start(Backend::Sqlite, &fake).await;
    let repo = git_repo();

    for (budget, field) in [
        (json!({"tokens": TOO_BIG}), "budget.tokens"),
        (json!({"tokens": u64::MAX}), "budget.tokens"),
        (json!({"cost_usd": -1.0}), "budget.cost_usd"),
    ] {
        let (status, body) = server
            .post(
                "/api/v1/sessions",
                json!({"prompt": "hi", "workspace": {"path": repo.path()}, "budget": budget}),
            )
            .await;
        assert_refused(status, &body, field);

        let (status, body) = server
            .post(
                "/api/v1/tasks",
                json!({"prompt": "hi", "repo": repo.path(), "open_pr": false, "budget": budget}),
            )
            .await;
        assert_refused(status, &body, field);
    }

    // Nothing was left behind: no session, no worktree, no branch.
    let (_, list) = server.get("/api/v1/sessions").await;
    assert_eq!(list["sessions"], json!([]), "{list}");
    let (_, tasks) = server.get("/api/v1/tasks").await;
    assert_eq!(tasks["tasks"], json!([]), "{tasks}");
    assert_eq!(git(repo.path(), &["branch", "--list", "agentd/*"]), "");
    assert_eq!(
        git(repo.path(), &["worktree", "list", "--porcelain"])
            .lines()
            .filter(|l| l.starts_with("worktree "))
            .count(),
        1,
        "only the repository's own checkout"
    );

    // Quotas: every token limit, named.
    let (_, me) = server.get("/api/v1/auth/me").await;
    let admin = me["user"]["id"].as_str().unwrap();
    for field in ["session_tokens", "daily_tokens", "monthly_tokens"] {
        let res = server
            .http
            .put(server.url(&format!("/api/v1/users/{admin}/quotas")))
            .json(&json!({ field: TOO_BIG }))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert_refused(status, &res.json().await.unwrap(), field);
    }
    let res = server
        .http
        .put(server.url(&format!("/api/v1/users/{admin}/quotas")))
        .json(&json!({ "daily_tokens": i64::MAX }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "i64::MAX itself is a valid limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_parameters_are_checked_not_guessed() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().text("Hello."));
    let server = Server::start(Backend::Sqlite, &fake).await;
    let dir = tempfile::tempdir().unwrap();
    let id = server.create_session(dir.path(), "hello").await;
    server.wait_status(&id, &["idle"]).await;
    let events = |query: String| {
        let url = server.url(&format!("/api/v1/sessions/{id}/events?{query}"));
        let http = server.http.clone();
        async move {
            let res = http.get(url).send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };

    // An unknown format was served as SSE; now it is refused.
    let (status, body) = events("format=xml".into()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed", "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("xml"),
        "{body}"
    );
    // limit=0 returned one event; a limit outside 1..=10000 is refused.
    for limit in [0, 10_001] {
        let (status, body) = events(format!("format=json&limit={limit}")).await;
        assert_refused(status, &body, "limit");
    }
    let (status, body) = events("format=json&limit=1".into()).await;
    assert_eq!(status, 200);
    assert_eq!(body["events"].as_array().unwrap().len(), 1, "{body}");
    // A seq the store cannot hold was a 503.
    let (status, body) = events(format!("format=json&after={TOO_BIG}")).await;
    assert_refused(status, &body, "after");

    // Page sizes elsewhere are checked the same way.
    for path in [
        "/api/v1/sessions?limit=0",
        "/api/v1/tasks?limit=201",
        "/api/v1/audit?limit=0",
        "/api/v1/audit?limit=1001",
    ] {
        let (status, body) = server.get(path).await;
        assert_refused(status, &body, "limit");
    }
    let (status, body) = server.get("/api/v1/audit?format=xml").await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_names_are_conflicts_that_say_so() {
    let fake = FakeAnthropic::start().await;
    let server = Server::start(Backend::Sqlite, &fake).await;

    let mcp = json!({"name": "tools", "command": "true"});
    let (status, _) = server.post("/api/v1/mcp/servers", mcp.clone()).await;
    assert_eq!(status, 201);
    let (status, body) = server.post("/api/v1/mcp/servers", mcp).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(
        body["error"]["message"],
        "an MCP server named \"tools\" already exists"
    );

    // Renaming another server onto the name is the same conflict.
    let (_, other) = server
        .post(
            "/api/v1/mcp/servers",
            json!({"name": "other", "command": "true"}),
        )
        .await;
    let res = server
        .http
        .put(server.url(&format!(
            "/api/v1/mcp/servers/{}",
            other["id"].as_str().unwrap()
        )))
        .json(&json!({"name": "tools", "command": "true"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "an MCP server named \"tools\" already exists"
    );

    // The other unique name a caller chooses: a user's.
    let user = json!({"name": "ann", "password": "ann-password-123", "role": "member"});
    let (status, _) = server.post("/api/v1/users", user.clone()).await;
    assert_eq!(status, 201);
    let (status, body) = server.post("/api/v1/users", user).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["message"], "user ann already exists");
}
