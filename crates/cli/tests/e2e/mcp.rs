//! MCP end to end with the real `@modelcontextprotocol/server-everything`:
//! saved servers (CRUD, check, import/export, secrets never returned), a
//! builtin session calling `mcp__everything__echo` (and a denied call, and a
//! broken server), the claude-code runtime given the server through
//! `--mcp-config`, and an rmcp client driving agentd's own `/mcp`.

use std::time::Duration;

use agentd_testkit::{FakeAnthropic, turn};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::common::{self, Backend, Server};

const SECRET: &str = "s3cret-mcp-value-123";

fn everything() -> String {
    std::env::var("AGENTD_TEST_MCP_EVERYTHING").unwrap_or_else(|_| {
        format!(
            "{}/.cache/agentd-npm/node_modules/.bin/mcp-server-everything",
            std::env::var("HOME").unwrap()
        )
    })
}

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    common::send(req).await
}

async fn saved_servers(backend: Backend) {
    let fake = FakeAnthropic::start().await;
    let server = Server::start(backend, &fake).await;
    let body = json!({"name": "everything", "command": everything(), "args": ["stdio"],
                      "env": {"SECRET_TOKEN": SECRET}});
    let (status, created) = server.post("/api/v1/mcp/servers", body.clone()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["transport"], "stdio");
    assert_eq!(created["env_keys"], json!(["SECRET_TOKEN"]));
    assert_eq!(created["args"], json!(["stdio"]));
    assert!(!created.to_string().contains(SECRET));
    let id = created["id"].as_str().unwrap().to_owned();

    // The same name again is a conflict; a bad one a clear 400.
    let (status, _) = server.post("/api/v1/mcp/servers", body).await;
    assert_eq!(status, 409);
    let (status, err) = server
        .post(
            "/api/v1/mcp/servers",
            json!({"name": "a__b", "command": "x"}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        err["error"]["message"].as_str().unwrap().contains("`__`"),
        "{err}"
    );

    // Changing the args without retyping the secret keeps it.
    let (status, updated) = send(
        server
            .http
            .put(server.url(&format!("/api/v1/mcp/servers/{id}")))
            .json(&json!({"name": "everything", "command": everything(), "args": ["stdio"]})),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["env_keys"], json!(["SECRET_TOKEN"]));

    let (status, list) = server.get("/api/v1/mcp/servers").await;
    assert_eq!(status, 200);
    assert_eq!(list["servers"], json!([updated]));

    // The check starts the real server and lists its tools.
    let (status, check) = server
        .post(&format!("/api/v1/mcp/servers/{id}/check"), json!({}))
        .await;
    assert_eq!(status, 200, "{check}");
    assert_eq!(check["ok"], true, "{check}");
    let echo = check["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "echo")
        .expect("echo tool");
    assert_eq!(echo["description"], "Echoes back the input string");

    // A broken server is a clear `ok: false`, not a failed request.
    let (_, broken) = server
        .post(
            "/api/v1/mcp/servers",
            json!({"name": "broken", "command": "/nonexistent/mcp-server"}),
        )
        .await;
    let broken_id = broken["id"].as_str().unwrap();
    let (status, check) = server
        .post(&format!("/api/v1/mcp/servers/{broken_id}/check"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(check["ok"], false);
    assert!(
        check["error"].as_str().unwrap().contains("broken"),
        "{check}"
    );

    // Export: the .mcp.json shape, secrets as ${NAME} references only.
    let (status, exported) = server.get("/api/v1/mcp/export").await;
    assert_eq!(status, 200);
    assert_eq!(
        exported["mcpServers"]["everything"],
        json!({"type": "stdio", "command": everything(), "args": ["stdio"],
               "env": {"SECRET_TOKEN": "${SECRET_TOKEN}"}})
    );
    assert!(!exported.to_string().contains(SECRET));

    // Another member sees none of it, and imports the export as their own.
    let bob = server.member("bob").await;
    let (status, _) = send(
        bob.http
            .get(server.url(&format!("/api/v1/mcp/servers/{id}"))),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = send(
        bob.http
            .post(server.url(&format!("/api/v1/mcp/servers/{id}/check"))),
    )
    .await;
    assert_eq!(status, 404);
    let (status, imported) = send(
        bob.http
            .post(server.url("/api/v1/mcp/import"))
            .json(&exported),
    )
    .await;
    assert_eq!(status, 200, "{imported}");
    assert_eq!(imported["imported"], json!(["broken", "everything"]));
    let (_, bobs) = send(bob.http.get(server.url("/api/v1/mcp/servers"))).await;
    let bobs_everything = &bobs["servers"][1];
    assert_eq!(bobs_everything["command"], everything());
    assert_eq!(bobs_everything["env_keys"], json!(["SECRET_TOKEN"]));
    assert_ne!(bobs_everything["id"], id.as_str());

    // Importing the export back changes nothing for the owner: the
    // ${SECRET_TOKEN} reference keeps the stored value.
    let (status, _) = server.post("/api/v1/mcp/import", exported.clone()).await;
    assert_eq!(status, 200);
    let (_, again) = server.get("/api/v1/mcp/export").await;
    assert_eq!(again, exported);

    // A legacy SSE entry is refused, naming it.
    let (status, err) = server
        .post(
            "/api/v1/mcp/import",
            json!({"mcpServers": {"old": {"type": "sse", "url": "https://x/sse"}}}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        err["error"]["message"].as_str().unwrap().contains("old"),
        "{err}"
    );

    let res = server
        .http
        .delete(server.url(&format!("/api/v1/mcp/servers/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let (status, _) = server.get(&format!("/api/v1/mcp/servers/{id}")).await;
    assert_eq!(status, 404);
    let (status, _) = send(server.anon.get(server.url("/api/v1/mcp/servers"))).await;
    assert_eq!(status, 401);

    assert!(!server.log().contains(SECRET), "a secret reached the log");
}

both_backends!(saved_servers_crud_check_and_round_trip, saved_servers);

fn tool_result(request: &Value) -> Option<&Value> {
    request["messages"]
        .as_array()?
        .iter()
        .flat_map(|m| m["content"].as_array().into_iter().flatten())
        .rfind(|b| b["type"] == "tool_result")
}

fn tool_names(request: &Value) -> Vec<String> {
    request["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtin_sessions_call_mcp_tools_under_the_permission_rules() {
    let fake = FakeAnthropic::start().await;
    let server = Server::start(Backend::Sqlite, &fake).await;
    let (status, _) = server
        .post(
            "/api/v1/mcp/servers",
            json!({"name": "everything", "command": everything(), "args": ["stdio"]}),
        )
        .await;
    assert_eq!(status, 201);

    // A saved server by name: the model sees its tools and gets the real
    // result of a call, in two turns over one connection.
    fake.push(turn().tool_use(
        "mcp__everything__echo",
        json!({"message": "hello from agentd"}),
    ));
    fake.push(turn().text("The server said hello."));
    let workspace = tempfile::tempdir().unwrap();
    let (status, created) = server
        .post(
            "/api/v1/sessions",
            json!({"prompt": "call echo", "workspace": {"path": workspace.path()},
                   "mcp_servers": ["everything"]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let done = server.wait_status(&id, &["idle", "failed"]).await;
    assert_eq!(done["status"], "idle", "{done}\n{}", server.log());
    let requests = fake.message_requests();
    assert!(tool_names(&requests[0]).contains(&"mcp__everything__echo".to_owned()));
    assert!(tool_names(&requests[0]).contains(&"bash".to_owned()));
    let result = tool_result(&requests[1]).unwrap();
    assert_eq!(result["content"], "Echo: hello from agentd", "{result}");
    assert_ne!(result["is_error"], true);
    let events = server.events(&id).await;
    let completed = events
        .iter()
        .find(|e| e["type"] == "tool.completed")
        .unwrap();
    assert_eq!(completed["data"]["tool"], "mcp__everything__echo");
    assert_eq!(completed["data"]["ok"], true);

    fake.push(turn().tool_use("mcp__everything__echo", json!({"message": "again"})));
    fake.push(turn().text("Twice."));
    let (status, _) = server
        .post(
            &format!("/api/v1/sessions/{id}/messages"),
            json!({"text": "once more"}),
        )
        .await;
    assert_eq!(status, 202);
    // The follow-up's turn may be over before a poll could see it running.
    fake.wait_for_requests(4, Duration::from_secs(20)).await;
    server.wait_status(&id, &["idle", "failed"]).await;
    let requests = fake.message_requests();
    assert_eq!(tool_result(&requests[3]).unwrap()["content"], "Echo: again");

    // An inline server in a repository that denies the tool: the call is
    // refused by the rules, the model is told so.
    let denied_ws = tempfile::tempdir().unwrap();
    std::fs::create_dir(denied_ws.path().join(".claude")).unwrap();
    std::fs::write(
        denied_ws.path().join(".claude/settings.json"),
        r#"{"permissions": {"deny": ["mcp__everything__echo"]}}"#,
    )
    .unwrap();
    fake.push(turn().tool_use("mcp__everything__echo", json!({"message": "nope"})));
    fake.push(turn().text("Denied."));
    let (status, created) = server
        .post(
            "/api/v1/sessions",
            json!({"prompt": "call echo", "workspace": {"path": denied_ws.path()},
                   "mcp_servers": [{"name": "everything", "command": everything(), "args": ["stdio"]}]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let denied_id = created["id"].as_str().unwrap().to_owned();
    server.wait_status(&denied_id, &["idle", "failed"]).await;
    let requests = fake.message_requests();
    let result = tool_result(&requests[5]).unwrap();
    assert_eq!(result["is_error"], true, "{result}");
    assert!(
        result["content"]
            .as_str()
            .unwrap()
            .contains("permission denied"),
        "{result}"
    );
    let events = server.events(&denied_id).await;
    let completed = events
        .iter()
        .find(|e| e["type"] == "tool.completed")
        .unwrap();
    assert_eq!(completed["data"]["ok"], false);

    // A broken server: a clear error event, and the turn still runs.
    fake.push(turn().text("Without it."));
    let (status, created) = server
        .post(
            "/api/v1/sessions",
            json!({"prompt": "go", "workspace": {"path": workspace.path()},
                   "mcp_servers": [{"name": "broken", "command": "/nonexistent/mcp-server"}]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let broken_id = created["id"].as_str().unwrap().to_owned();
    let done = server.wait_status(&broken_id, &["idle", "failed"]).await;
    assert_eq!(done["status"], "idle", "{done}");
    let events = server.events(&broken_id).await;
    let error = events.iter().find(|e| e["type"] == "error").unwrap();
    let message = error["data"]["message"].as_str().unwrap();
    assert!(
        message.contains("MCP server `broken` is not available"),
        "{message}"
    );

    // Unknown saved names are refused up front.
    let (status, err) = server
        .post(
            "/api/v1/sessions",
            json!({"prompt": "go", "workspace": {"path": workspace.path()}, "mcp_servers": ["nope"]}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        err["error"]["message"].as_str().unwrap().contains("nope"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_claude_code_runtime_gets_the_servers_through_mcp_config() {
    let claude = std::env::var("AGENTD_TEST_CLAUDE").unwrap_or_else(|_| {
        format!(
            "{}/.cache/agentd-npm/node_modules/.bin/claude",
            std::env::var("HOME").unwrap()
        )
    });
    let fake = FakeAnthropic::start().await;
    fake.push(turn().tool_use("mcp__everything__echo", json!({"message": "from claude"})));
    fake.push(turn().tool_use("mcp__everything__get-sum", json!({"a": 1, "b": 2})));
    fake.push(turn().text("Echoed."));
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().display().to_string();
    // agentd's own rules, which the CLI does not know: its `can_use_tool`
    // requests are decided by them.
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        "[permissions]\nallow = [\"mcp__everything__echo\"]\ndeny = [\"mcp__everything__get-sum\"]\n",
    )
    .unwrap();
    let config_path = config.path().display().to_string();
    let server = Server::start_with(
        Backend::Sqlite,
        &fake,
        &[
            ("AGENTD_CLAUDE_PATH", &claude),
            ("AGENTD_CONFIG", &config_path),
            ("HOME", &home_path),
            ("CLAUDE_CODE_MAX_RETRIES", "0"),
        ],
    )
    .await;
    let workspace = tempfile::tempdir().unwrap();
    let (status, created) = server
        .post(
            "/api/v1/sessions",
            json!({"prompt": "call echo", "workspace": {"path": workspace.path()},
                   "runtime": "claude-code", "permission_mode": "default",
                   "mcp_servers": [{"name": "everything", "command": everything(), "args": ["stdio"],
                                    "env": {"SECRET_TOKEN": SECRET}}]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let done = server.wait_status(&id, &["idle", "failed"]).await;
    assert_eq!(done["status"], "idle", "{done}\n{}", server.log());
    let requests = fake.message_requests();
    // The CLI offers MCP tools (by name, possibly as deferred tools).
    assert!(
        requests[0].to_string().contains("mcp__everything__echo"),
        "the CLI did not see the server"
    );
    let results: Vec<&Value> = requests.iter().filter_map(tool_result).collect();
    assert_eq!(results.len(), 2, "{results:?}");
    assert!(
        results[0].to_string().contains("Echo: from claude"),
        "{}",
        results[0]
    );
    assert_eq!(results[1]["is_error"], true, "{}", results[1]);
    assert!(
        results[1].to_string().contains("permission denied"),
        "{}",
        results[1]
    );
    // The secret went to the server through a private file, not argv.
    assert!(!server.log().contains(SECRET));
    let _ = server
        .http
        .delete(server.url(&format!("/api/v1/sessions/{id}")))
        .send()
        .await;
}

async fn mcp_client(
    server: &Server,
    token: &str,
) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(server.url("/mcp")).auth_header(token),
    );
    ().serve(transport).await.expect("connect to /mcp")
}

async fn call(
    client: &rmcp::service::RunningService<rmcp::RoleClient, ()>,
    tool: &str,
    args: Value,
) -> (bool, Value) {
    let params = CallToolRequestParams::new(tool.to_owned())
        .with_arguments(args.as_object().unwrap().clone());
    let result = client.call_tool(params).await.expect("tools/call");
    let text = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<String>();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (result.is_error != Some(true), value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_client_drives_agentd() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().text("Looked at the repository."));
    fake.push(turn().text("Answered the follow-up."));
    let server = Server::start(Backend::Sqlite, &fake).await;

    // Without a token there is no MCP session at all.
    let res = server
        .anon
        .post(server.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "x", "version": "1"}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let alice = server.member("alice").await;
    let client = mcp_client(&server, &alice.token).await;
    let tools: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.into_owned())
        .collect();
    assert_eq!(
        tools,
        [
            "create_task",
            "list_sessions",
            "get_session",
            "send_message",
            "cancel_session",
            "answer_approval"
        ]
    );

    let repo = common::git_repo();
    let (ok, task) = call(
        &client,
        "create_task",
        json!({"repo": repo.path(), "prompt": "Look around", "open_pr": false,
               "permission_mode": "bypassPermissions"}),
    )
    .await;
    assert!(ok, "{task}");
    let id = task["id"].as_str().unwrap().to_owned();
    server.wait_status(&id, &["completed", "failed"]).await;

    let (ok, list) = call(&client, "list_sessions", json!({})).await;
    assert!(ok, "{list}");
    assert_eq!(list["sessions"][0]["id"], id.as_str());

    let (ok, accepted) = call(
        &client,
        "send_message",
        json!({"session_id": id, "text": "And now?"}),
    )
    .await;
    assert!(ok, "{accepted}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let events = loop {
        let (ok, got) = call(
            &client,
            "get_session",
            json!({"session_id": id, "events": 50}),
        )
        .await;
        assert!(ok, "{got}");
        let events = got["events"].as_array().unwrap().clone();
        let finished = events
            .iter()
            .filter(|e| e["type"] == "turn.completed")
            .count();
        if finished == 2 && got["session"]["status"] != "running" {
            break events;
        }
        assert!(tokio::time::Instant::now() < deadline, "{got}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        events.iter().any(|e| e["type"] == "message.completed"
            && e["data"]["content"]
                .to_string()
                .contains("Answered the follow-up.")),
        "{events:?}"
    );

    // A tool call waiting for a person is answered through MCP too.
    fake.push(turn().tool_use("bash", json!({"command": "echo approved-over-mcp"})));
    fake.push(turn().text("Ran it."));
    let (ok, asking) = call(
        &client,
        "create_task",
        json!({"repo": repo.path(), "prompt": "Run it", "open_pr": false,
               "permission_mode": "default"}),
    )
    .await;
    assert!(ok, "{asking}");
    let asking_id = asking["id"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let request_id = loop {
        let (_, got) = call(&client, "get_session", json!({"session_id": asking_id})).await;
        let requested = got["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == "permission.requested")
            .map(|e| e["data"]["request_id"].as_str().unwrap().to_owned());
        if let Some(request_id) = requested {
            assert_eq!(got["session"]["status"], "blocked_on_approval");
            break request_id;
        }
        assert!(tokio::time::Instant::now() < deadline, "{got}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (ok, answered) = call(
        &client,
        "answer_approval",
        json!({"session_id": asking_id, "request_id": request_id, "decision": "accept"}),
    )
    .await;
    assert!(ok, "{answered}");
    server
        .wait_status(&asking_id, &["completed", "failed"])
        .await;
    let events = server.events(&asking_id).await;
    let ran = events
        .iter()
        .find(|e| e["type"] == "tool.completed")
        .unwrap();
    assert_eq!(ran["data"]["ok"], true, "{ran}");
    assert!(
        ran["data"]["output"]
            .as_str()
            .unwrap()
            .contains("approved-over-mcp")
    );

    // Another member reaches none of it, through the same tools.
    let bob = server.member("bob").await;
    let other = mcp_client(&server, &bob.token).await;
    let (ok, list) = call(&other, "list_sessions", json!({})).await;
    assert!(ok);
    assert_eq!(list["sessions"], json!([]));
    for (tool, args) in [
        ("get_session", json!({"session_id": id})),
        ("send_message", json!({"session_id": id, "text": "hi"})),
        ("cancel_session", json!({"session_id": id})),
        (
            "answer_approval",
            json!({"session_id": id, "request_id": "x", "decision": "accept"}),
        ),
    ] {
        let (ok, err) = call(&other, tool, args).await;
        assert!(!ok, "{tool}: {err}");
        assert!(
            err.as_str().unwrap().starts_with("not_found"),
            "{tool}: {err}"
        );
    }

    // A read-only token may look but not act.
    let (_, read_only) = server
        .new_pat_with(&alice.http, json!({"name": "ro", "scope": "read"}))
        .await;
    let reader = mcp_client(&server, &read_only).await;
    let (ok, _) = call(&reader, "get_session", json!({"session_id": id})).await;
    assert!(ok);
    let (ok, err) = call(&reader, "cancel_session", json!({"session_id": id})).await;
    assert!(!ok);
    assert!(err.as_str().unwrap().starts_with("forbidden"), "{err}");

    for c in [client, other, reader] {
        let _ = c.cancel().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_gets_its_mcp_servers_too() {
    let fake = FakeAnthropic::start().await;
    let server = Server::start(Backend::Sqlite, &fake).await;
    fake.push(turn().tool_use("mcp__everything__echo", json!({"message": "from a task"})));
    fake.push(turn().text("Echoed."));
    let repo = common::git_repo();
    let (status, created) = server
        .post(
            "/api/v1/tasks",
            json!({"repo": repo.path(), "prompt": "echo", "permission_mode": "bypassPermissions",
                   "open_pr": false,
                   "mcp_servers": [{"name": "everything", "command": everything(), "args": ["stdio"]}]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let done = server
        .wait_status(&id, &["completed", "failed", "cancelled"])
        .await;
    assert_eq!(done["status"], "completed", "{done}\n{}", server.log());
    let requests = fake.message_requests();
    assert_eq!(
        tool_result(&requests[1]).unwrap()["content"],
        "Echo: from a task"
    );
}
