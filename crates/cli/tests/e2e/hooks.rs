//! Hooks through real sessions: the scripted model calls tools, hooks
//! configured on the server, the user and the session block, deny, allow,
//! add context, time out and are delivered signed over HTTP; the model's
//! tool results, the events, the statuses and the audit log show it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentd_testkit::{FakeAnthropic, turn};
use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::common::{self, Backend, Server, tool_results};

/// A PreToolUse command hook deciding by the command it receives on stdin.
const GUARD: &str = r#"input=$(cat)
case "$input" in
  *forbidden*) echo "forbidden by policy" >&2; exit 2 ;;
  *json-deny*) echo '{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"json says no"}}' ;;
  *json-allow*) echo '{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"allow"}}' ;;
esac
exit 0"#;

fn server_config() -> tempfile::NamedTempFile {
    let config = tempfile::NamedTempFile::new().unwrap();
    let toml = format!(
        r#"
[[hooks.PreToolUse]]
matcher = "Bash"
[[hooks.PreToolUse.hooks]]
type = "command"
command = '''{GUARD}'''

[[hooks.PostToolUse]]
matcher = "Bash"
[[hooks.PostToolUse.hooks]]
type = "command"
command = '''echo '{{"hookSpecificOutput":{{"hookEventName":"PostToolUse","additionalContext":"post-hook-was-here"}}}}' '''

[[hooks.UserPromptSubmit]]
[[hooks.UserPromptSubmit.hooks]]
type = "command"
command = "echo prompt-context-xyz"
"#
    );
    std::fs::write(config.path(), toml).unwrap();
    config
}

fn hook_events(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e["type"] == "hook.completed")
        .map(|e| {
            (
                e["data"]["hook_event"].as_str().unwrap().to_owned(),
                e["data"]["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn block_deny_allow_and_context(backend: Backend) {
    let fake = FakeAnthropic::start().await;
    for command in ["echo forbidden", "echo json-deny", "echo json-allow"] {
        fake.push(turn().tool_use("bash", json!({"command": command})));
    }
    fake.push(turn().text("done"));
    let config = server_config();
    let config_path = config.path().display().to_string();
    let server = Server::start_with(backend, &fake, &[("AGENTD_CONFIG", &config_path)]).await;
    let workspace = tempfile::tempdir().unwrap();
    let (status, created) = server
        .post(
            "/api/v1/sessions",
            json!({"prompt": "go", "workspace": {"path": workspace.path()}, "permission_mode": "default"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let session = server.wait_status(&id, &["idle", "failed"]).await;
    assert_eq!(session["status"], "idle", "{}", server.log());
    assert_eq!(session["status_reason"], "2 tool call(s) were denied");

    let results = tool_results(&fake);
    assert_eq!(results.len(), 3, "{results:?}");
    assert!(
        results[0].0 && results[0].1.contains("forbidden by policy"),
        "exit 2 blocks with stderr as the reason: {:?}",
        results[0]
    );
    assert!(
        results[1].0 && results[1].1.contains("json says no"),
        "a JSON deny: {:?}",
        results[1]
    );
    assert_eq!(
        results[2],
        (
            false,
            "json-allow\nexit code: 0\n\npost-hook-was-here".to_owned()
        ),
        "a JSON allow runs without asking; PostToolUse adds context"
    );
    // UserPromptSubmit's plain stdout went to the model with the prompt.
    let first = &fake.message_requests()[0];
    assert!(
        first["messages"][0]
            .to_string()
            .contains("prompt-context-xyz"),
        "{first}"
    );

    let events = server.events(&id).await;
    assert!(
        !events.iter().any(|e| e["type"] == "permission.requested"),
        "the hook's allow skipped the prompt"
    );
    let hooks = hook_events(&events);
    let pre: Vec<&str> = hooks
        .iter()
        .filter(|(event, _)| event == "PreToolUse")
        .map(|(_, outcome)| outcome.as_str())
        .collect();
    assert_eq!(pre, ["blocked", "ok", "ok"]);
    assert!(hooks.contains(&("UserPromptSubmit".into(), "ok".into())));
    assert_eq!(
        hooks.iter().filter(|(e, _)| e == "PostToolUse").count(),
        1,
        "PostToolUse runs only for the call that ran"
    );

    let (status, audit) = server.get("/api/v1/audit?action=hook.run").await;
    assert_eq!(status, 200, "{audit}");
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), hooks.len(), "{audit}");
    let blocked = entries
        .iter()
        .find(|e| e["detail"]["blocked"] == true)
        .unwrap();
    assert_eq!(blocked["actor_name"], "admin");
    assert_eq!(blocked["target"], id.as_str());
    assert_eq!(blocked["detail"]["event"], "PreToolUse");
    assert_eq!(blocked["detail"]["hook"]["type"], "command");
    assert!(blocked["detail"]["duration_ms"].is_u64());
}
both_backends!(
    block_deny_allow_and_context_e2e,
    block_deny_allow_and_context
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_that_overruns_its_timeout_is_stopped_and_does_not_block() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().tool_use("bash", json!({"command": "echo ran"})));
    fake.push(turn().text("done"));
    let server = Server::start(Backend::Sqlite, &fake).await;
    let workspace = tempfile::tempdir().unwrap();
    let settings = json!({"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [
        {"type": "command", "command": "sleep 30; exit 2", "timeout": 1}
    ]}]}});
    let (status, created) = server
        .post(
            "/api/v1/sessions",
            json!({"prompt": "go", "workspace": {"path": workspace.path()}, "settings": settings}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let started = std::time::Instant::now();
    let session = server.wait_status(&id, &["idle", "failed"]).await;
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(session["status"], "idle");
    assert_eq!(
        tool_results(&fake),
        [(false, "ran\nexit code: 0".to_owned())]
    );
    let events = server.events(&id).await;
    let hook = events
        .iter()
        .find(|e| e["type"] == "hook.completed")
        .unwrap();
    assert_eq!(hook["data"]["outcome"], "timeout", "{hook}");
    assert!(hook["data"]["duration_ms"].as_u64().unwrap() < 10_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_session_settings_are_a_clear_400() {
    let fake = FakeAnthropic::start().await;
    let server = Server::start(Backend::Sqlite, &fake).await;
    let workspace = tempfile::tempdir().unwrap();
    let bad = json!({"hooks": {"PreToolUse": [{"matcher": "(", "hooks": []}]}});
    let (status, body) = server
        .post(
            "/api/v1/sessions",
            json!({"prompt": "go", "workspace": {"path": workspace.path()}, "settings": bad}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("invalid matcher"), "{body}");
    let (status, body) = common::send(
        server
            .http
            .put(server.url("/api/v1/me/settings"))
            .json(&json!({"settings": {"permissions": {"deny": ["Bash("]}}})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

/// One delivery: the event, whether its signature verified, its
/// `Authorization` header.
type Delivery = (Value, bool, Option<String>);

/// What the HTTP hook receiver saw.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Delivery>>>);

const SECRET: &str = "hook-signing-secret";

/// A receiver that checks the signature and denies `echo secret-stuff`.
async fn receiver() -> (String, Seen) {
    let seen = Seen::default();
    let state = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let state = state.clone();
            async move {
                let signature = headers
                    .get(agentd_policy::SIGNATURE_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let valid = signature == agentd_policy::sign_body(SECRET.as_bytes(), &body);
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let event: Value = serde_json::from_slice(&body).unwrap_or_default();
                state.0.lock().unwrap().push((event.clone(), valid, auth));
                let deny = event["tool_input"]["command"] == "echo secret-stuff";
                axum::Json(if deny {
                    json!({"hookSpecificOutput": {"hookEventName": "PreToolUse",
                        "permissionDecision": "deny", "permissionDecisionReason": "the receiver said no"}})
                } else {
                    json!({})
                })
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_http_hooks_are_signed_and_session_stop_hooks_make_the_agent_continue() {
    let (url, seen) = receiver().await;
    let fake = FakeAnthropic::start().await;
    fake.push(turn().tool_use("bash", json!({"command": "echo secret-stuff"})));
    fake.push(turn().text("first stop"));
    fake.push(turn().text("second stop"));
    let server =
        Server::start_with(Backend::Sqlite, &fake, &[("AGENTD_HOOKS_SECRET", SECRET)]).await;

    // The user's own settings: an HTTP hook with a secret header.
    let user_settings = json!({"hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [
            {"type": "http", "url": url, "timeout": 5, "headers": {"Authorization": "Bearer user-token-123"}}
        ]}],
        "Notification": [{"hooks": [{"type": "http", "url": url}]}]
    }});
    let res = server
        .http
        .put(server.url("/api/v1/me/settings"))
        .json(&json!({"settings": user_settings}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (status, stored) = server.get("/api/v1/me/settings").await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["encrypted"], true);
    assert!(!stored.to_string().contains("user-token-123"), "{stored}");
    assert_eq!(
        stored["settings"]["hooks"]["PreToolUse"][0]["hooks"][0]["headers"]["Authorization"],
        "***"
    );

    // The session's own settings: a Stop hook that sends the agent back once,
    // and a SessionEnd hook.
    let session_settings = json!({"hooks": {
        "Stop": [{"hooks": [{"type": "command", "command":
            r#"grep -q '"stop_hook_active":true' && exit 0; echo "check the tests first" >&2; exit 2"#}]}],
        "SessionEnd": [{"hooks": [{"type": "command", "command": "cat > /dev/null"}]}]
    }});
    let workspace = tempfile::tempdir().unwrap();
    let (status, created) = server
        .post(
            "/api/v1/sessions",
            json!({"prompt": "go", "workspace": {"path": workspace.path()},
                   "permission_mode": "bypassPermissions", "settings": session_settings}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let session = server.wait_status(&id, &["idle", "failed"]).await;
    assert_eq!(session["status"], "idle", "{}", server.log());

    // The HTTP hook was delivered signed, with its header, and its deny
    // reached the model even in bypassPermissions mode.
    let deliveries = seen.0.lock().unwrap().clone();
    let pre = deliveries
        .iter()
        .find(|(event, _, _)| event["hook_event_name"] == "PreToolUse")
        .unwrap();
    assert!(pre.1, "the signature verifies");
    assert_eq!(pre.2.as_deref(), Some("Bearer user-token-123"));
    assert_eq!(pre.0["tool_name"], "Bash");
    assert_eq!(pre.0["session_id"], id.as_str());
    let requests = fake.message_requests();
    assert_eq!(requests.len(), 3, "the Stop hook made the agent go on once");
    let second = requests[1]["messages"].to_string();
    assert!(second.contains("the receiver said no"), "{second}");
    let third = requests[2]["messages"].to_string();
    assert!(third.contains("check the tests first"), "{third}");
    let hooks = hook_events(&server.events(&id).await);
    assert_eq!(
        hooks
            .iter()
            .filter(|(e, _)| e == "Stop")
            .map(|(_, o)| o.as_str())
            .collect::<Vec<_>>(),
        ["blocked", "ok"]
    );

    // SessionEnd runs on delete, and is audited.
    let res = server
        .http
        .delete(server.url(&format!("/api/v1/sessions/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let (_, audit) = server.get("/api/v1/audit?action=hook.run").await;
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["detail"]["event"] == "SessionEnd" && e["target"] == id.as_str()),
        "{audit}"
    );
    assert!(!audit.to_string().contains("user-token-123"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_hook_fires_when_an_approval_is_requested() {
    let (url, seen) = receiver().await;
    let fake = FakeAnthropic::start().await;
    fake.push(turn().tool_use("bash", json!({"command": "touch x"})));
    fake.push(turn().text("done"));
    let server = Server::start_with(
        Backend::Sqlite,
        &fake,
        &[
            ("AGENTD_HOOKS_SECRET", SECRET),
            ("AGENTD_APPROVAL_TIMEOUT_SECS", "1"),
        ],
    )
    .await;
    let workspace = tempfile::tempdir().unwrap();
    let settings = json!({"hooks": {"Notification": [{"matcher": "permission_prompt",
        "hooks": [{"type": "http", "url": url}]}]}});
    let (status, created) = server
        .post(
            "/api/v1/sessions",
            json!({"prompt": "go", "workspace": {"path": workspace.path()},
                   "permission_mode": "default", "settings": settings}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    server.wait_status(&id, &["idle", "failed"]).await;
    let deliveries = seen.0.lock().unwrap().clone();
    let note = deliveries
        .iter()
        .find(|(event, _, _)| event["hook_event_name"] == "Notification")
        .unwrap_or_else(|| panic!("{deliveries:?}"));
    assert_eq!(note.0["notification_type"], "permission_prompt");
    assert!(note.0["message"].as_str().unwrap().contains("bash"));
    assert!(note.1, "signed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_tool_use_blocks_on_the_claude_code_runtime() {
    let claude = std::env::var("AGENTD_TEST_CLAUDE").unwrap_or_else(|_| {
        format!(
            "{}/.cache/agentd-npm/node_modules/.bin/claude",
            std::env::var("HOME").unwrap()
        )
    });
    let fake = FakeAnthropic::start().await;
    fake.push(turn().tool_use("Bash", json!({"command": "echo forbidden"})));
    fake.push(turn().text("blocked, stopping"));
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().display().to_string();
    let server = Server::start_with(
        Backend::Sqlite,
        &fake,
        &[
            ("AGENTD_CLAUDE_PATH", &claude),
            ("HOME", &home_path),
            ("CLAUDE_CODE_MAX_RETRIES", "0"),
        ],
    )
    .await;
    let workspace = tempfile::tempdir().unwrap();
    let settings = json!({"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [
        {"type": "command", "command": GUARD}
    ]}]}});
    let (status, created) = server
        .post(
            "/api/v1/sessions",
            json!({"prompt": "go", "workspace": {"path": workspace.path()}, "runtime": "claude-code",
                   "permission_mode": "bypassPermissions", "settings": settings}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let session = server.wait_status(&id, &["idle", "failed"]).await;
    assert_eq!(session["status"], "idle", "{}", server.log());
    let results = tool_results(&fake);
    assert_eq!(results.len(), 1, "{results:?}");
    assert!(
        results[0].0 && results[0].1.contains("forbidden by policy"),
        "{:?}",
        results[0]
    );
    let events = server.events(&id).await;
    let hooks = hook_events(&events);
    assert_eq!(hooks, [("PreToolUse".to_owned(), "blocked".to_owned())]);
    let hook = events
        .iter()
        .find(|e| e["type"] == "hook.completed")
        .unwrap();
    assert!(
        hook["data"]["call_id"]
            .as_str()
            .unwrap()
            .starts_with("toolu_")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_tool_use_continue_false_stops_the_agent() {
    let fake = FakeAnthropic::start().await;
    fake.push(
        turn()
            .tool_use("bash", json!({"command": "echo first"}))
            .tool_use("bash", json!({"command": "echo second"})),
    );
    fake.push(turn().text("never asked for"));
    let server = Server::start(Backend::Sqlite, &fake).await;
    let workspace = tempfile::tempdir().unwrap();
    let settings = json!({"hooks": {"PostToolUse": [{"matcher": "Bash", "hooks": [
        {"type": "command", "command": r#"echo '{"continue": false, "stopReason": "one command is enough"}'"#}
    ]}]}});
    let (status, created) = server
        .post(
            "/api/v1/sessions",
            json!({"prompt": "go", "workspace": {"path": workspace.path()}, "settings": settings}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let session = server.wait_status(&id, &["idle", "failed"]).await;
    assert_eq!(session["status"], "idle", "{session}");
    assert!(
        session["status_reason"]
            .as_str()
            .unwrap()
            .contains("one command is enough"),
        "{session}"
    );
    // The model was not asked again, and the second call never ran.
    assert_eq!(fake.message_requests().len(), 1);
    assert_eq!(fake.pending_replies(), 1);
    let events = server.events(&id).await;
    let completed: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "tool.completed")
        .collect();
    assert_eq!(completed.len(), 1, "only the first call ran: {events:?}");
}
