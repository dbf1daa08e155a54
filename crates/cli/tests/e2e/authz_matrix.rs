//! The authorization matrix: every operation of the committed OpenAPI
//! document (so a new route is covered the day it is added) called as
//! anonymous, another member, the owner and an admin.
//!
//! Path parameters come from real objects created for each call (a fresh
//! session or token of the owner, a fresh user for admin routes), and each
//! authenticated call uses a fresh token, so destructive operations (delete,
//! logout, disable) never spoil the next call.

use agentd_testkit::{FakeAnthropic, turn};
use serde_json::{Value, json};

use crate::common::{Backend, Member, Server, client_with, send};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Anonymous,
    OtherMember,
    Owner,
    Admin,
}

/// What a route protects, read from its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Declared `security: [{}]`: no credentials needed.
    Public,
    /// `/api/v1/users…`: admins only.
    AdminOnly,
    /// Has an `{id}` of something the owner owns.
    Owned,
    /// Any authenticated caller, each seeing their own.
    Authenticated,
}

struct Fixture {
    server: Server,
    owner: Member,
    other: Member,
    workspace: tempfile::TempDir,
    counter: std::sync::atomic::AtomicU32,
}

impl Fixture {
    fn unique(&self, prefix: &str) -> String {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{prefix}{n}")
    }

    /// A fresh object for the `{id}` of `path`, owned by the owner.
    async fn path_id(&self, path: &str) -> String {
        let s = &self.server;
        if path.starts_with("/api/v1/sessions/{id}") {
            let (status, body) =
                send(s.http_of(&self.owner).post(s.url("/api/v1/sessions")).json(
                    &json!({"prompt": "hello", "workspace": {"path": self.workspace.path()}}),
                ))
                .await;
            assert_eq!(status, 201, "{body}");
            return body["id"].as_str().unwrap().to_owned();
        }
        if path.starts_with("/api/v1/tasks/{id}") {
            let (status, body) = send(s.http_of(&self.owner).post(s.url("/api/v1/tasks")).json(
                &json!({"repo": self.workspace.path(), "prompt": "hello", "open_pr": false}),
            ))
            .await;
            assert_eq!(status, 201, "{body}");
            return body["id"].as_str().unwrap().to_owned();
        }
        if path.starts_with("/api/v1/tokens/{id}") {
            return s.new_pat(&self.owner.http).await.0;
        }
        if path.starts_with("/api/v1/mcp/servers/{id}") {
            let (status, body) = send(
                s.http_of(&self.owner)
                    .post(s.url("/api/v1/mcp/servers"))
                    .json(&self.body("create_mcp_server")),
            )
            .await;
            assert_eq!(status, 201, "{body}");
            return body["id"].as_str().unwrap().to_owned();
        }
        if path.starts_with("/api/v1/users/{id}") {
            let name = self.unique("victim");
            let (status, body) = s
                .post("/api/v1/users", json!({"name": name, "role": "member"}))
                .await;
            assert_eq!(status, 201, "{body}");
            return body["id"].as_str().unwrap().to_owned();
        }
        panic!("no fixture for the path parameter of {path}: add one to the matrix test");
    }

    /// A share link of the owner's on session `id` (of a file the fixture
    /// workspace holds).
    async fn share_of(&self, id: &str) -> String {
        let s = &self.server;
        let (status, body) = send(
            s.http_of(&self.owner)
                .post(s.url(&format!("/api/v1/sessions/{id}/shares")))
                .json(&json!({"path": "matrix.txt"})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// A client for `who`, with a token minted for this call alone.
    async fn client(&self, who: Who) -> reqwest::Client {
        let s = &self.server;
        let token = match who {
            Who::Anonymous => return reqwest::Client::new(),
            Who::OtherMember => s.new_pat(&self.other.http).await.1,
            Who::Owner => s.new_pat(&self.owner.http).await.1,
            Who::Admin => {
                let body = json!({"name": "matrix", "scope": "admin"});
                s.new_pat_with(&s.http, body).await.1
            }
        };
        client_with(&token)
    }

    fn body(&self, operation: &str) -> Value {
        match operation {
            "create_session" => {
                json!({"prompt": "hi", "workspace": {"path": self.workspace.path()}})
            }
            "send_message" | "steer" => json!({"text": "more"}),
            "create_task" => {
                json!({"repo": self.workspace.path(), "prompt": "hi", "open_pr": false})
            }
            "create_token" => json!({"name": "matrix"}),
            "create_user" => {
                json!({"name": self.unique("new"), "password": "long enough password"})
            }
            "login" => json!({"name": "owner", "password": "wrong password here"}),
            "create_web_session" => json!({"name": "nobody", "password": "wrong password here"}),
            "put_credential" => json!({"secret": "sk-ant-matrix-key-0000"}),
            // A server that cannot start: its check answers quickly.
            "create_mcp_server" | "update_mcp_server" => {
                json!({"name": self.unique("srv"), "command": "/nonexistent/mcp-server"})
            }
            "import_mcp_servers" => json!({"mcpServers": {}}),
            "refresh" => json!({"refresh_token": "agentd_rt_not-a-token"}),
            "render_markdown" => json!({"text": "**matrix**"}),
            "render_diff" => json!({"path": "a.txt", "old": "a\n", "new": "b\n"}),
            // Unknown operations get an empty body: validation errors are an
            // acceptable answer for allowed callers.
            _ => json!({}),
        }
    }
}

trait HttpOf {
    fn http_of<'a>(&self, m: &'a Member) -> &'a reqwest::Client;
}

impl HttpOf for Server {
    fn http_of<'a>(&self, m: &'a Member) -> &'a reqwest::Client {
        &m.http
    }
}

fn kind_of(path: &str, op: &Value) -> Kind {
    let public = op["security"].as_array().is_some_and(|reqs| {
        reqs.iter()
            .any(|r| r.as_object().is_some_and(serde_json::Map::is_empty))
    });
    if public {
        Kind::Public
    } else if path.starts_with("/api/v1/users") || path.starts_with("/api/v1/admin/") {
        Kind::AdminOnly
    } else if path.contains("{id}") {
        Kind::Owned
    } else {
        Kind::Authenticated
    }
}

/// The answer an allowed caller may get: success, or a complaint about the
/// request itself (a body the matrix cannot make valid, a plain GET on the
/// WebSocket route).
fn allowed(status: u16) -> bool {
    status < 300 || matches!(status, 400 | 409 | 426)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_checks_its_callers() {
    let fake = FakeAnthropic::start().await;
    fake.set_default(turn().text("ok"));
    let server = Server::start(Backend::Sqlite, &fake).await;
    // Members act through personal access tokens: "log out everywhere"
    // ends login tokens, and the fixture must outlive it.
    let mut owner = server.member("owner").await;
    let mut other = server.member("other").await;
    for m in [&mut owner, &mut other] {
        m.http = client_with(&server.new_pat(&m.http).await.1);
    }
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(workspace.path().join("matrix.txt"), "shared").unwrap();
    let fx = Fixture {
        server,
        owner,
        other,
        workspace,
        counter: Default::default(),
    };
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json"))
            .unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let kind = kind_of(path, op);
            let operation = op["operationId"].as_str().unwrap_or(method);
            for who in [Who::Anonymous, Who::OtherMember, Who::Owner, Who::Admin] {
                // `{provider}` names one of the caller's own credentials.
                let path_of_call = path.replace("{provider}", "anthropic");
                let url = if path.contains("{id}") {
                    let id = fx.path_id(path).await;
                    let mut call = path_of_call.replace("{id}", &id);
                    if call.contains("{share_id}") {
                        call = call.replace("{share_id}", &fx.share_of(&id).await);
                    }
                    fx.server.url(&call)
                } else {
                    fx.server.url(&path_of_call)
                };
                let client = fx.client(who).await;
                if operation == "delete_credential" && who != Who::Anonymous {
                    // Something of the caller's own to delete.
                    let body = fx.body("put_credential");
                    let (status, _) = send(client.put(&url).json(&body)).await;
                    assert_eq!(status, 200);
                }
                let method_value: reqwest::Method = method.to_uppercase().parse().unwrap();
                let mut req = client.request(method_value, &url);
                if op.get("requestBody").is_some() {
                    req = req.json(&fx.body(operation));
                }
                let res = req.send().await.unwrap();
                let status = res.status().as_u16();
                let www = res.headers().get("www-authenticate").cloned();
                // Streams never end: read the body only for errors.
                let body: Value = if status >= 400 {
                    res.json().await.unwrap_or(Value::Null)
                } else {
                    Value::Null
                };
                let case = format!(
                    "{} {path} as {who:?} ({kind:?}) → {status} {body}",
                    method.to_uppercase()
                );
                match (kind, who) {
                    (Kind::Public, _) => assert!(status < 500, "{case}"),
                    (_, Who::Anonymous) => {
                        assert_eq!(status, 401, "{case}");
                        assert_eq!(body["error"]["code"], "unauthorized", "{case}");
                        assert_eq!(www.unwrap(), "Bearer", "{case}");
                    }
                    (Kind::AdminOnly, Who::OtherMember | Who::Owner) => {
                        assert_eq!(status, 403, "{case}");
                        assert_eq!(body["error"]["code"], "forbidden", "{case}");
                    }
                    // Saved MCP servers carry their owner's secrets: they
                    // are personal, like credentials, even for admins.
                    (Kind::Owned, Who::Admin) if path.starts_with("/api/v1/mcp/servers/") => {
                        assert_eq!(status, 404, "{case}");
                    }
                    (Kind::Owned, Who::OtherMember) => {
                        assert_eq!(status, 404, "{case}");
                        assert_eq!(body["error"]["code"], "not_found", "{case}");
                    }
                    _ => assert!(allowed(status), "{case}"),
                }
                checked += 1;
            }
        }
    }
    // agentd's MCP endpoint is outside the document: bearer tokens only.
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "matrix", "version": "1"}}});
    for who in [Who::Anonymous, Who::OtherMember, Who::Owner, Who::Admin] {
        let res = fx
            .client(who)
            .await
            .post(fx.server.url("/mcp"))
            .header("accept", "application/json, text/event-stream")
            .json(&initialize)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        if who == Who::Anonymous {
            assert_eq!(status, 401, "/mcp as {who:?}");
            assert_eq!(res.headers()["www-authenticate"], "Bearer");
        } else {
            assert_eq!(status, 200, "/mcp as {who:?}");
        }
    }
    assert!(
        checked >= 4 * 20,
        "only {checked} calls: is the document empty?"
    );
    assert!(fx.server.log().lines().all(|l| !l.contains("panicked")));
}
