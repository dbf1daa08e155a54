//! `Idempotency-Key` on the POSTs that create work: a retry with the same
//! key replays the first answer and creates nothing new; the same key with
//! another request is refused; keys belong to their user. On SQLite and
//! PostgreSQL.

use agentd_testkit::{FakeAnthropic, turn};
use serde_json::{Value, json};

use crate::common::{Backend, Server, git_repo};

async fn post_with_key(
    client: &reqwest::Client,
    server: &Server,
    path: &str,
    key: &str,
    body: &Value,
) -> (u16, Option<String>, Value) {
    let res = client
        .post(server.url(path))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let replayed = res
        .headers()
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, replayed, res.json().await.unwrap_or(Value::Null))
}

async fn retries_create_nothing_twice(backend: Backend) {
    let fake = FakeAnthropic::start().await;
    fake.set_default(turn().text("ok"));
    let server = Server::start(backend, &fake).await;
    let workspace = tempfile::tempdir().unwrap();
    let create = json!({"prompt": "hello", "workspace": {"path": workspace.path()}});

    let (status, replayed, first) =
        post_with_key(&server.http, &server, "/api/v1/sessions", "key-1", &create).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(replayed, None);
    let id = first["id"].as_str().unwrap().to_owned();
    let (status, replayed, again) =
        post_with_key(&server.http, &server, "/api/v1/sessions", "key-1", &create).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(again, first, "the retry gets the first answer");
    let (_, list) = server.get("/api/v1/sessions").await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 1, "{list}");

    // The same key for a different request is a client bug: refused.
    let other = json!({"prompt": "something else", "workspace": {"path": workspace.path()}});
    let (status, _, body) =
        post_with_key(&server.http, &server, "/api/v1/sessions", "key-1", &other).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "idempotency_key_reused");

    // Keys are per user: another member's "key-1" is theirs alone.
    let ann = server.member("ann").await;
    let (status, replayed, theirs) =
        post_with_key(&ann.http, &server, "/api/v1/sessions", "key-1", &create).await;
    assert_eq!(status, 201, "{theirs}");
    assert_eq!(replayed, None);
    assert_ne!(theirs["id"], first["id"]);

    // A follow-up sent twice (the outbox retrying) runs once.
    server.wait_status(&id, &["idle"]).await;
    let path = format!("/api/v1/sessions/{id}/messages");
    let message = json!({"text": "only once"});
    let (status, _, sent) = post_with_key(&server.http, &server, &path, "msg-1", &message).await;
    assert_eq!(status, 202, "{sent}");
    let (status, replayed, resent) =
        post_with_key(&server.http, &server, &path, "msg-1", &message).await;
    assert_eq!((status, replayed.as_deref()), (202, Some("true")));
    assert_eq!(resent["input_id"], sent["input_id"]);
    server.wait_status(&id, &["idle"]).await;
    let events = server.events(&id).await;
    let turns: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "turn.started" && e["data"]["input"] == "only once")
        .collect();
    assert_eq!(turns.len(), 1, "{events:?}");

    // Tasks too.
    let repo = git_repo();
    let task = json!({"repo": repo.path(), "prompt": "do it"});
    let (status, _, t1) =
        post_with_key(&server.http, &server, "/api/v1/tasks", "task-1", &task).await;
    assert_eq!(status, 201, "{t1}");
    let (status, replayed, t2) =
        post_with_key(&server.http, &server, "/api/v1/tasks", "task-1", &task).await;
    assert_eq!((status, replayed.as_deref()), (201, Some("true")));
    assert_eq!(t1["id"], t2["id"]);

    // A failed request does not use up its key.
    let bad = json!({"prompt": "x", "workspace": {"path": "/no/such/dir/anywhere"}});
    let (status, _, _) =
        post_with_key(&server.http, &server, "/api/v1/sessions", "key-2", &bad).await;
    assert_eq!(status, 400);
    let (status, _, ok) =
        post_with_key(&server.http, &server, "/api/v1/sessions", "key-2", &create).await;
    assert_eq!(status, 201, "{ok}");

    // Malformed keys are a clear 400.
    let (status, _, body) = post_with_key(
        &server.http,
        &server,
        "/api/v1/sessions",
        "has space",
        &create,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed");
}

both_backends!(
    retries_create_nothing_twice_per_user,
    retries_create_nothing_twice
);
