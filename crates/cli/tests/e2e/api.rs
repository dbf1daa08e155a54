//! The API's edges: the one error envelope for bad input, limits, health,
//! readiness, metrics and the served OpenAPI document.

use agentd_testkit::FakeAnthropic;
use serde_json::{Value, json};

use crate::common::{self, Backend, Server};

async fn error_of(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("JSON error body");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    (status, body["error"]["code"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_error_with_a_stable_code() {
    let fake = FakeAnthropic::start().await;
    let server = Server::start(Backend::Sqlite, &fake).await;
    // No connection reuse: the server closes a connection whose body it
    // refused (413), and each case must stand alone.
    let http = &common::client_builder_with(&server.token)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let sessions = server.url("/api/v1/sessions");
    let dir = tempfile::tempdir().unwrap();

    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            http.post(&sessions)
                .header("content-type", "application/json")
                .body("{nope"),
            400,
            "invalid_json",
        ),
        (
            http.post(&sessions).body("{}"),
            415,
            "unsupported_media_type",
        ),
        (
            http.post(&sessions)
                .json(&json!({"workspace": {"path": "/tmp"}})),
            400,
            "validation_failed",
        ),
        (
            http.post(&sessions)
                .json(&json!({"prompt": "x", "workspace": {"path": "/tmp"}, "bogus": 1})),
            400,
            "validation_failed",
        ),
        (
            http.post(&sessions)
                .json(&json!({"prompt": "  ", "workspace": {"path": "/tmp"}})),
            400,
            "validation_failed",
        ),
        (
            http.post(&sessions)
                .json(&json!({"prompt": "x", "workspace": {"path": "relative/dir"}})),
            400,
            "workspace_invalid",
        ),
        (
            http.post(&sessions)
                .json(&json!({"prompt": "x", "workspace": {"path": dir.path().join("missing")}})),
            400,
            "workspace_invalid",
        ),
        (
            http.post(&sessions)
                .json(&json!({"prompt": "x", "workspace": {"path": "/tmp"}, "runtime": "nope"})),
            400,
            "validation_failed",
        ),
        (
            http.post(&sessions).json(
                &json!({"prompt": "x".repeat(2 * 1024 * 1024), "workspace": {"path": "/tmp"}}),
            ),
            413,
            "payload_too_large",
        ),
        (
            http.get(server.url("/api/v1/sessions/0190f5a4-7c1e-7000-8000-000000000001")),
            404,
            "not_found",
        ),
        (
            http.get(server.url("/api/v1/sessions/not-an-id")),
            404,
            "not_found",
        ),
        (
            http.post(server.url("/api/v1/sessions/0190f5a4-7c1e-7000-8000-000000000001/messages"))
                .json(&json!({"text": "hi"})),
            404,
            "not_found",
        ),
        (
            http.get(server.url("/api/v1/sessions?status=sleeping")),
            400,
            "validation_failed",
        ),
        (
            http.get(server.url("/api/v1/nothing-here")),
            404,
            "not_found",
        ),
        (http.put(&sessions), 405, "method_not_allowed"),
    ];
    for (i, (req, status, code)) in cases.into_iter().enumerate() {
        let got = error_of(req.send().await.unwrap()).await;
        assert_eq!(got, (status, code.to_owned()), "case {i}");
    }
    assert!(server.log().lines().all(|l| !l.contains("panicked")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_metrics_and_openapi() {
    let fake = FakeAnthropic::start().await;
    let server = Server::start(Backend::Sqlite, &fake).await;
    // Health, readiness, metrics and the contract need no credentials.
    let res = server
        .anon
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (status, ready) = common::send(server.anon.get(server.url("/readyz"))).await;
    assert_eq!(
        (status, ready),
        (200, json!({"ready": true, "database": "sqlite"}))
    );
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
        metrics.contains("agentd_http_requests_total{status=\"2xx\"}"),
        "{metrics}"
    );
    let (status, doc) = common::send(server.anon.get(server.url("/api/v1/openapi.json"))).await;
    assert_eq!(status, 200);
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(doc, committed, "the served document is the committed one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_failures_get_the_envelope_with_stable_codes() {
    let fake = FakeAnthropic::start().await;
    let server = Server::start(Backend::Sqlite, &fake).await;
    let member = server.member("mia").await;
    let sessions = server.url("/api/v1/sessions");
    let anon = &server.anon;
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (anon.get(&sessions), 401, "unauthorized"),
        (
            anon.get(server.url("/api/v1/nothing-here")),
            401,
            "unauthorized",
        ),
        (
            anon.get(&sessions)
                .header("authorization", "Basic YWRtaW46eA=="),
            401,
            "unauthorized",
        ),
        (
            anon.get(&sessions).bearer_auth("agentd_pat_0000"),
            401,
            "unauthorized",
        ),
        (anon.get(&sessions).bearer_auth(""), 401, "unauthorized"),
        (
            member.http.get(server.url("/api/v1/users")),
            403,
            "forbidden",
        ),
        (
            member
                .http
                .post(server.url("/api/v1/tokens"))
                .json(&json!({"name": "x", "scope": "admin"})),
            403,
            "forbidden",
        ),
        // Unknown names and wrong passwords answer alike.
        (
            anon.post(server.url("/api/v1/auth/login"))
                .json(&json!({"name": "mia", "password": "nope nope nope"})),
            401,
            "unauthorized",
        ),
        (
            anon.post(server.url("/api/v1/auth/login"))
                .json(&json!({"name": "ghost", "password": "nope nope nope"})),
            401,
            "unauthorized",
        ),
        (
            anon.post(server.url("/api/v1/auth/login"))
                .json(&json!({"name": "mia"})),
            400,
            "validation_failed",
        ),
        (
            server
                .http
                .post(server.url("/api/v1/users"))
                .json(&json!({"name": "mia"})),
            409,
            "conflict",
        ),
        (
            server
                .http
                .post(server.url("/api/v1/users"))
                .json(&json!({"name": "x", "password": "short"})),
            400,
            "validation_failed",
        ),
        (
            server
                .http
                .post(server.url("/api/v1/users/usr_nope/unlock")),
            404,
            "not_found",
        ),
        (
            server.http.delete(server.url("/api/v1/tokens/tok_nope")),
            404,
            "not_found",
        ),
    ];
    for (i, (req, status, code)) in cases.into_iter().enumerate() {
        let res = req.send().await.unwrap();
        if status == 401 {
            assert_eq!(res.headers()["www-authenticate"], "Bearer", "case {i}");
        }
        let got = error_of(res).await;
        assert_eq!(got, (status, code.to_owned()), "case {i}");
    }
    assert!(server.log().lines().all(|l| !l.contains("panicked")));
}
