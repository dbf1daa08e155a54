#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentd_policy::{
    Decision, HookCommon, HookEvent, HookEventName, HookHandler, HookInput, HookOptions,
    HookOutcome, HookRunner, HookStatus, HooksConfig, HttpRetry, MatcherGroup, SIGNATURE_HEADER,
    combine, sign_body,
};
use agentd_protocol::PermissionMode;
use agentd_tools::DirectLauncher;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use pretty_assertions::assert_eq;
use serde_json::json;

const SECRET: &[u8] = b"hook-secret";

/// One request the test server received.
struct Request {
    path: String,
    signature_valid: bool,
    team: Option<String>,
    body: Bytes,
}

#[derive(Clone, Default)]
struct Seen {
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Seen {
    fn record(&self, path: &str, headers: &HeaderMap, body: &Bytes) -> usize {
        let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
        let signature_valid = signature == Some(sign_body(SECRET, body).as_str());
        let team = headers
            .get("x-team")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut requests = self.requests.lock().unwrap();
        requests.push(Request {
            path: path.to_owned(),
            signature_valid,
            team,
            body: body.clone(),
        });
        requests.iter().filter(|r| r.path == path).count()
    }
}

async fn start() -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .route(
            "/deny",
            post(|State(seen): State<Seen>, headers: HeaderMap, body: Bytes| async move {
                seen.record("/deny", &headers, &body);
                r#"{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"frozen"}}"#
            }),
        )
        .route(
            "/flaky",
            post(|State(seen): State<Seen>, headers: HeaderMap, body: Bytes| async move {
                match seen.record("/flaky", &headers, &body) {
                    1 => (StatusCode::INTERNAL_SERVER_ERROR, String::new()),
                    _ => (StatusCode::OK, r#"{"systemMessage":"second time lucky"}"#.to_owned()),
                }
            }),
        )
        .route(
            "/down",
            post(|State(seen): State<Seen>, headers: HeaderMap, body: Bytes| async move {
                seen.record("/down", &headers, &body);
                StatusCode::SERVICE_UNAVAILABLE
            }),
        )
        .route(
            "/forbidden",
            post(|State(seen): State<Seen>, headers: HeaderMap, body: Bytes| async move {
                seen.record("/forbidden", &headers, &body);
                StatusCode::FORBIDDEN
            }),
        )
        .route(
            "/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "{}"
            }),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), seen)
}

fn http(url: String, timeout: Option<Duration>) -> HookHandler {
    HookHandler::Http {
        url,
        timeout,
        headers: BTreeMap::from([("X-Team".to_owned(), "infra".to_owned())]),
    }
}

async fn run(handler: HookHandler) -> HookOutcome {
    let mut config = HooksConfig::default();
    config.groups.insert(
        HookEventName::PreToolUse,
        vec![MatcherGroup::new(Some("Bash"), vec![handler]).unwrap()],
    );
    let mut options = HookOptions::new("/tmp");
    options.http_secret = Some(SECRET.to_vec());
    options.http_retry = HttpRetry {
        retries: 2,
        base_delay: Duration::from_millis(10),
    };
    assert!(
        !format!("{options:?}").contains("hook-secret"),
        "the secret leaks into Debug"
    );
    let event = HookEvent {
        common: HookCommon {
            session_id: "sess_1".into(),
            transcript_path: String::new(),
            cwd: "/tmp".into(),
            permission_mode: PermissionMode::Default,
        },
        input: HookInput::PreToolUse {
            tool_name: "Bash".into(),
            tool_input: json!({"command": "git push"}),
            tool_use_id: "toolu_1".into(),
        },
    };
    HookRunner::new(config, options)
        .unwrap()
        .run(&event, &DirectLauncher, &[])
        .await
}

#[tokio::test]
async fn http_hooks_post_the_signed_event_and_their_answer_counts() {
    let (base, seen) = start().await;
    let outcome = run(http(format!("{base}/deny"), None)).await;
    assert_eq!(
        combine(PermissionMode::Default, Decision::Allow, &outcome),
        Decision::Deny {
            reason: "frozen".into()
        }
    );
    assert_eq!(outcome.records[0].status, HookStatus::Http { status: 200 });
    let requests = seen.requests.lock().unwrap();
    let request = &requests[0];
    assert!(request.signature_valid);
    assert_eq!(request.team.as_deref(), Some("infra"));
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["hook_event_name"], "PreToolUse");
    assert_eq!(body["tool_input"]["command"], "git push");
}

#[tokio::test]
async fn http_hooks_are_retried_after_a_5xx() {
    let (base, seen) = start().await;
    let outcome = run(http(format!("{base}/flaky"), None)).await;
    assert_eq!(outcome.system_messages, ["second time lucky"]);
    assert_eq!(outcome.errors, Vec::<String>::new());
    assert_eq!(seen.requests.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn failing_http_hooks_are_non_blocking_errors() {
    let (base, seen) = start().await;
    let outcome = run(http(format!("{base}/down"), None)).await;
    assert_eq!(outcome.records[0].status, HookStatus::Http { status: 503 });
    assert_eq!(
        outcome.errors,
        [format!("hook `{base}/down` answered HTTP 503")]
    );
    assert_eq!(
        combine(PermissionMode::Default, Decision::Allow, &outcome),
        Decision::Allow
    );
    // One try and two retries.
    assert_eq!(seen.requests.lock().unwrap().len(), 3);

    // A 4xx is an answer, not an outage: no retry.
    let outcome = run(http(format!("{base}/forbidden"), None)).await;
    assert_eq!(outcome.records[0].status, HookStatus::Http { status: 403 });
    assert_eq!(
        seen.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == "/forbidden")
            .count(),
        1
    );
}

#[tokio::test]
async fn unreachable_http_hooks_are_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let outcome = run(http(format!("http://{addr}/hook"), None)).await;
    assert!(
        matches!(outcome.records[0].status, HookStatus::HttpFailed { .. }),
        "{:?}",
        outcome.records
    );
    assert_eq!(outcome.errors.len(), 1);
    assert_eq!(outcome.blocked, None);
}

#[tokio::test]
async fn slow_http_hooks_time_out() {
    let (base, _seen) = start().await;
    let started = std::time::Instant::now();
    let outcome = run(http(format!("{base}/slow"), Some(Duration::from_secs(1)))).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(outcome.records[0].status, HookStatus::TimedOut);
    assert!(
        outcome.errors[0].contains("timed out"),
        "{:?}",
        outcome.errors
    );
}
