//! Harness for end-to-end tests: a real `agentd serve` process (SQLite or
//! PostgreSQL) talking to the testkit's Anthropic fake, driven over HTTP,
//! SSE and WebSocket like any client.
//!
//! Authentication is on, as in production: the server starts with a known
//! `admin` password, then `agentd admin token create --user admin` (run on
//! the same data dir or database) mints the token that `http`, SSE and
//! WebSocket connections send as `Authorization: Bearer`.

pub mod browser;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use agentd_testkit::FakeAnthropic;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per backend.
macro_rules! both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body($crate::common::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$body($crate::common::Backend::Postgres).await;
            }
        }
    };
}

/// The `admin` password every test server starts with.
pub const ADMIN_PASSWORD: &str = "test-admin-password-1";

pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub data_dir: tempfile::TempDir,
    database_url: Option<String>,
    _pg: Option<agentd_store::testing::PgGuard>,
    anthropic_url: String,
    extra_env: Vec<(String, String)>,
    /// Sends the admin token on every request.
    pub http: reqwest::Client,
    /// Sends no credentials.
    pub anon: reqwest::Client,
    /// The admin's personal access token.
    pub token: String,
    pub stderr_log: PathBuf,
}

impl Server {
    pub async fn start(backend: Backend, fake: &FakeAnthropic) -> Server {
        Self::start_with(backend, fake, &[]).await
    }

    /// With extra environment for `agentd serve` (e.g. the login policy).
    pub async fn start_with(
        backend: Backend,
        fake: &FakeAnthropic,
        env: &[(&str, &str)],
    ) -> Server {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let (database_url, pg) = match backend {
            Backend::Sqlite => (None, None),
            Backend::Postgres => {
                let guard = agentd_store::testing::postgres_new_database()
                    .await
                    .expect("postgres database");
                (Some(guard.url().to_owned()), Some(guard))
            }
        };
        let stderr_log = data_dir.path().join("server.log");
        let mut server = Server {
            child: None,
            base: String::new(),
            data_dir,
            database_url,
            _pg: pg,
            anthropic_url: fake.base_url(),
            extra_env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            http: reqwest::Client::new(),
            anon: reqwest::Client::new(),
            token: String::new(),
            stderr_log,
        };
        server.spawn().await;
        server.token = server
            .admin(&["token", "create", "--user", "admin"])
            .trim()
            .to_owned();
        assert!(server.token.starts_with("agentd_pat_"), "{}", server.token);
        server.http = client_with(&server.token);
        server
    }

    /// Runs `agentd admin ARGS… --data-dir … [--database-url …]` and returns
    /// its stdout; panics if it fails.
    pub fn admin(&self, args: &[&str]) -> String {
        let out = self.admin_command(args).output().expect("run agentd admin");
        assert!(
            out.status.success(),
            "agentd admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// The `agentd admin ARGS…` command on this server's database.
    pub fn admin_command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_agentd"));
        cmd.arg("admin")
            .args(args)
            .arg("--data-dir")
            .arg(self.data_dir.path());
        if let Some(url) = &self.database_url {
            cmd.arg("--database-url").arg(url);
        }
        cmd.env_remove("AGENTD_CONFIG")
            .env_remove("AGENTD_DATABASE_URL")
            .env("AGENTD_LOG", "warn");
        cmd
    }

    /// Another `agentd serve` on this server's data dir and database (not
    /// started; for tests of what a second process may do).
    pub fn serve_command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_agentd"));
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(self.data_dir.path());
        if let Some(url) = &self.database_url {
            cmd.arg("--database-url").arg(url);
        }
        cmd.env_remove("AGENTD_CONFIG")
            .env_remove("AGENTD_DATABASE_URL")
            .env("ANTHROPIC_API_KEY", "sk-ant-test-key-e2e")
            .env("AGENTD_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("AGENTD_LOG", "warn")
            .stdin(std::process::Stdio::null());
        cmd
    }

    /// A WebSocket to `/api/v1/ws` authenticated with `token`.
    pub async fn ws(
        &self,
        token: &str,
    ) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>
    {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = self.url("/api/v1/ws").replace("http://", "ws://");
        let mut req = url.into_client_request().expect("ws request");
        req.headers_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("header"),
        );
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("ws connect");
        ws
    }

    async fn spawn(&mut self) {
        self.spawn_on("127.0.0.1:0").await;
    }

    async fn spawn_on(&mut self, listen: &str) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_agentd"));
        cmd.arg("serve")
            .arg("--listen")
            .arg(listen)
            .arg("--data-dir")
            .arg(self.data_dir.path());
        if let Some(url) = &self.database_url {
            cmd.arg("--database-url").arg(url);
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.stderr_log)
            .expect("log file");
        cmd.env("ANTHROPIC_BASE_URL", &self.anthropic_url)
            .env("ANTHROPIC_API_KEY", "sk-ant-test-key-e2e")
            .env("AGENTD_LOG", "info,agentd=debug")
            // Sessions here are about other things than approvals.
            .env("AGENTD_PERMISSION_MODE", "bypassPermissions")
            .env("AGENTD_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("AGENTD_CONFIG")
            .env_remove("AGENTD_DATABASE_URL")
            .envs(self.extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("spawn agentd");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        // The first start may announce the admin user before listening.
        let line = loop {
            let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
                .await
                .expect("agentd did not start in time")
                .expect("read stdout")
                .unwrap_or_else(|| panic!("agentd exited: {}", self.log()));
            if line.starts_with("agentd listening on") {
                break line;
            }
        };
        let url = line
            .rsplit(' ')
            .next()
            .expect("listen line")
            .trim()
            .to_owned();
        assert!(url.starts_with("http://"), "unexpected first line: {line}");
        self.base = url;
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }

    /// Waits up to `limit` for the server to exit by itself (after a
    /// signal the test sent); `None` if it is still running.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        match tokio::time::timeout(limit, child.wait()).await {
            Ok(Ok(status)) => {
                self.child = None;
                Some(status)
            }
            _ => None,
        }
    }

    /// SIGKILL, no chance to clean up.
    pub async fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.start_kill().expect("kill");
            let _ = child.wait().await;
        }
    }

    pub async fn restart(&mut self) {
        self.kill9().await;
        self.spawn().await;
    }

    /// `kill -9`, then start again on the same address, so clients that
    /// were connected (a browser page) can reconnect to the URL they know.
    pub async fn restart_same_port(&mut self) {
        let listen = self
            .base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        self.kill9().await;
        self.spawn_on(&listen).await;
    }

    /// The `agentd serve` process id (for tests that aim at the server).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let res = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let res = self.http.get(self.url(path)).send().await.expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn create_session(&self, workspace: &Path, prompt: &str) -> String {
        let (status, body) = self
            .post(
                "/api/v1/sessions",
                json!({"prompt": prompt, "workspace": {"path": workspace}}),
            )
            .await;
        assert_eq!(status, 201, "create session: {body}");
        body["id"].as_str().expect("id").to_owned()
    }

    /// The directory the session's agent works in (for a git repository,
    /// its own worktree, not the user's checkout).
    pub async fn workspace_of(&self, id: &str) -> PathBuf {
        let (status, body) = self.get(&format!("/api/v1/sessions/{id}")).await;
        assert_eq!(status, 200, "{body}");
        PathBuf::from(body["workspace_path"].as_str().expect("workspace_path"))
    }

    /// All stored events of a session (JSON page).
    pub async fn events(&self, id: &str) -> Vec<Value> {
        let (status, body) = self
            .get(&format!(
                "/api/v1/sessions/{id}/events?format=json&limit=10000"
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        body["events"].as_array().expect("events").clone()
    }

    /// Poll until the session's status is one of `statuses` (20 s at most).
    pub async fn wait_status(&self, id: &str, statuses: &[&str]) -> Value {
        self.wait_status_within(id, statuses, Duration::from_secs(20))
            .await
    }

    /// `wait_status` for sessions whose work takes long on a loaded machine.
    pub async fn wait_status_within(&self, id: &str, statuses: &[&str], limit: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let (_, body) = self.get(&format!("/api/v1/sessions/{id}")).await;
            if statuses.iter().any(|s| body["status"] == *s) {
                return body;
            }
            assert!(
                tokio::time::Instant::now() <= deadline,
                "session {id} never reached {statuses:?}; last: {body}\nlog:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Read SSE frames from `GET …/events` until `stop` says so; returns
    /// (id, event name, data) per frame.
    pub async fn sse_until(
        &self,
        id: &str,
        last_event_id: Option<u64>,
        mut stop: impl FnMut(&Value) -> bool,
    ) -> Vec<(u64, String, Value)> {
        let mut req = self
            .http
            .get(self.url(&format!("/api/v1/sessions/{id}/events")));
        if let Some(last) = last_event_id {
            req = req.header("Last-Event-ID", last.to_string());
        }
        let res = req.send().await.expect("sse");
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let mut stream = eventsource_stream::EventStream::new(res.bytes_stream());
        let mut frames = Vec::new();
        let read = async {
            while let Some(Ok(ev)) = stream.next().await {
                let data: Value = serde_json::from_str(&ev.data).expect("json data");
                let done = stop(&data);
                frames.push((ev.id.parse().expect("numeric id"), ev.event, data));
                if done {
                    break;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(20), read)
            .await
            .expect("sse timed out");
        frames
    }
}

/// A member account made through the API, logged in.
pub struct Member {
    pub id: String,
    pub password: String,
    /// A login access token.
    pub token: String,
    pub http: reqwest::Client,
}

impl Server {
    /// Creates a member (as admin) and logs them in.
    pub async fn member(&self, name: &str) -> Member {
        let password = format!("{name}-password-123");
        let (status, user) = self
            .post(
                "/api/v1/users",
                json!({"name": name, "password": password, "role": "member"}),
            )
            .await;
        assert_eq!(status, 201, "create user {name}: {user}");
        let token = self.login(name, &password).await;
        Member {
            id: user["id"].as_str().expect("id").to_owned(),
            password,
            http: client_with(&token),
            token,
        }
    }

    /// Logs in and returns the access token; panics unless it succeeds.
    pub async fn login(&self, name: &str, password: &str) -> String {
        let res = self
            .anon
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"name": name, "password": password}))
            .send()
            .await
            .expect("login");
        assert_eq!(res.status(), 200, "login {name}");
        let body: Value = res.json().await.expect("json");
        body["access_token"].as_str().expect("token").to_owned()
    }

    /// A fresh personal access token (scope `write`) for whoever `client`
    /// authenticates: (id, secret).
    pub async fn new_pat(&self, client: &reqwest::Client) -> (String, String) {
        self.new_pat_with(client, json!({"name": "test"})).await
    }

    /// A fresh personal access token made with this request body.
    pub async fn new_pat_with(&self, client: &reqwest::Client, body: Value) -> (String, String) {
        let res = client
            .post(self.url("/api/v1/tokens"))
            .json(&body)
            .send()
            .await
            .expect("create token");
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.expect("json");
        (
            body["id"].as_str().expect("id").to_owned(),
            body["token"].as_str().expect("token").to_owned(),
        )
    }
}

/// Status and JSON body (Null if none).
pub async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A client that sends `Authorization: Bearer TOKEN` on every request.
pub fn client_with(token: &str) -> reqwest::Client {
    client_builder_with(token).build().expect("client")
}

pub fn client_builder_with(token: &str) -> reqwest::ClientBuilder {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("header"),
    );
    reqwest::Client::builder().default_headers(headers)
}

/// Runs git in `dir` and returns its stdout; panics unless it succeeds.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A repository with one commit on `main`.
pub fn git_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    git(dir.path(), &["init", "-q", "-b", "main"]);
    std::fs::write(dir.path().join("README.md"), "# demo\n").expect("write");
    git(dir.path(), &["add", "."]);
    git(
        dir.path(),
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-qm",
            "init",
        ],
    );
    dir
}

/// Event types in order.
pub fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("").to_owned())
        .collect()
}

pub fn seqs(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| e["seq"].as_u64().expect("seq"))
        .collect()
}

/// Every `tool_result` the model received in its last request, in order:
/// (is_error, content).
pub fn tool_results(fake: &FakeAnthropic) -> Vec<(bool, String)> {
    let request = fake.message_requests().pop().expect("a model request");
    request["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .filter(|b| b["type"] == "tool_result")
        .map(|b| {
            let content = match &b["content"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (b["is_error"] == true, content)
        })
        .collect()
}
