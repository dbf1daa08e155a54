//! Credentials: tickets work once and expire, revoked and expired tokens are
//! refused at once, refresh rotates, logout ends a login, secrets are never
//! stored in clear, the audit log records and exports, and `agentd admin`
//! works on a data dir with no server running.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use agentd_testkit::{FakeAnthropic, turn};
use serde_json::{Value, json};

use crate::common::{ADMIN_PASSWORD, Backend, Server, client_with, send};

async fn status_of(req: reqwest::RequestBuilder) -> u16 {
    req.send().await.unwrap().status().as_u16()
}

async fn ticket(server: &Server, http: &reqwest::Client) -> String {
    let (status, body) = send(http.post(server.url("/api/v1/auth/ticket"))).await;
    assert_eq!(status, 201, "{body}");
    let ticket = body["ticket"].as_str().unwrap().to_owned();
    assert!(ticket.starts_with("agentd_tk_"));
    ticket
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_works_once_only_on_streams_and_expires() {
    let fake = FakeAnthropic::start().await;
    fake.set_default(turn().text("ok"));
    let server =
        Server::start_with(Backend::Sqlite, &fake, &[("AGENTD_TICKET_TTL_SECS", "1")]).await;
    let dir = tempfile::tempdir().unwrap();
    let id = server.create_session(dir.path(), "hi").await;
    let events = server.url(&format!("/api/v1/sessions/{id}/events?format=json"));
    let anon = &server.anon;

    let t = ticket(&server, &server.http).await;
    assert_eq!(
        status_of(anon.get(format!("{events}&ticket={t}"))).await,
        200
    );
    assert_eq!(
        status_of(anon.get(format!("{events}&ticket={t}"))).await,
        401,
        "used"
    );

    // Not a credential anywhere but the stream routes.
    let t = ticket(&server, &server.http).await;
    let list = server.url(&format!("/api/v1/sessions?ticket={t}"));
    assert_eq!(status_of(anon.get(list)).await, 401);

    // The WebSocket takes one too, once.
    let t = ticket(&server, &server.http).await;
    let ws_url = server
        .url(&format!("/api/v1/ws?ticket={t}"))
        .replace("http://", "ws://");
    assert!(
        tokio_tungstenite::connect_async(ws_url.clone())
            .await
            .is_ok()
    );
    assert!(
        tokio_tungstenite::connect_async(ws_url).await.is_err(),
        "used"
    );

    // And a long-lived token is no ticket.
    let url = format!("{events}&ticket={}", server.token);
    assert_eq!(status_of(anon.get(url)).await, 401);

    let t = ticket(&server, &server.http).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(
        status_of(anon.get(format!("{events}&ticket={t}"))).await,
        401,
        "expired"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_and_expired_tokens_are_refused_at_once() {
    let fake = FakeAnthropic::start().await;
    let env = [("AGENTD_ACCESS_TOKEN_TTL_SECS", "1")];
    let server = Server::start_with(Backend::Sqlite, &fake, &env).await;
    let me = server.url("/api/v1/auth/me");

    // Revoked: the very next request fails.
    let (id, pat) = server.new_pat(&server.http).await;
    let client = client_with(&pat);
    assert_eq!(status_of(client.get(&me)).await, 200);
    let (_, list) = send(server.http.get(server.url("/api/v1/tokens"))).await;
    let listed = list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap();
    assert!(listed["last_used_at"].is_string(), "{listed}");
    assert!(listed.get("token").is_none() && !list.to_string().contains(&pat));
    let (status, _) = send(
        server
            .http
            .delete(server.url(&format!("/api/v1/tokens/{id}"))),
    )
    .await;
    assert_eq!(status, 204);
    let res = client.get(&me).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");

    // Expired: a login's access token lives one second here.
    let res = server
        .anon
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"name": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let pair: Value = res.json().await.unwrap();
    let access = client_with(pair["access_token"].as_str().unwrap());
    let (status, who) = send(access.get(&me)).await;
    assert_eq!(
        (status, who["user"]["name"].clone(), who["scope"].clone()),
        (200, json!("admin"), json!("admin"))
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(status_of(access.get(&me)).await, 401, "expired");

    // Refresh gives a new pair once; replaying the old refresh token fails
    // and ends the login it came from.
    let refresh = |token: &Value| {
        server
            .anon
            .post(server.url("/api/v1/auth/refresh"))
            .json(&json!({"refresh_token": token}))
    };
    let (status, pair2) = send(refresh(&pair["refresh_token"])).await;
    assert_eq!(status, 200);
    let access2 = client_with(pair2["access_token"].as_str().unwrap());
    assert_eq!(status_of(access2.get(&me)).await, 200);
    assert_eq!(
        send(refresh(&pair["refresh_token"])).await.0,
        401,
        "replayed"
    );

    // Logout ends the login: access and refresh token.
    let (status, pair3) = send(refresh(&pair2["refresh_token"])).await;
    assert_eq!(status, 401, "the replay revoked the family: {pair3}");
    let token = server.login("admin", ADMIN_PASSWORD).await;
    let client = client_with(&token);
    assert_eq!(
        status_of(client.post(server.url("/api/v1/auth/logout"))).await,
        204
    );
    assert_eq!(status_of(client.get(&me)).await, 401);

    // A read-only token reads but cannot change anything.
    let body = json!({"name": "ro", "scope": "read"});
    let (_, ro) = server.new_pat_with(&server.http, body).await;
    let ro = client_with(&ro);
    assert_eq!(status_of(ro.get(server.url("/api/v1/sessions"))).await, 200);
    let (status, body) = send(
        ro.post(server.url("/api/v1/tokens"))
            .json(&json!({"name": "x"})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (403, json!("forbidden"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_not_stored_in_clear_and_the_audit_log_exports() {
    let fake = FakeAnthropic::start().await;
    fake.set_default(turn().text("ok"));
    let server = Server::start(Backend::Sqlite, &fake).await;
    let ann = server.member("ann").await;
    let (_, pat) = server.new_pat(&ann.http).await;
    let access = server.login("admin", ADMIN_PASSWORD).await;
    let dir = tempfile::tempdir().unwrap();
    let (status, _) = send(
        ann.http
            .post(server.url("/api/v1/sessions"))
            .json(&json!({"prompt": "hi", "workspace": {"path": dir.path()}})),
    )
    .await;
    assert_eq!(status, 201);

    let mut bytes = Vec::new();
    for file in ["agentd.db", "agentd.db-wal"] {
        if let Ok(b) = std::fs::read(server.data_dir.path().join(file)) {
            bytes.extend(b);
        }
    }
    assert!(bytes.len() > 1000);
    let secrets = [
        ADMIN_PASSWORD,
        &ann.password,
        &ann.token,
        &pat,
        &access,
        &server.token,
    ];
    for secret in secrets {
        let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found, "a secret is stored in clear");
        assert!(!server.log().contains(secret), "a secret is in the log");
    }

    // Admins read everything, members their own actions.
    let (_, all) = send(server.http.get(server.url("/api/v1/audit"))).await;
    let actions = |page: &Value| -> Vec<String> {
        page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    };
    for action in [
        "user.create",
        "login.success",
        "token.create",
        "session.create",
    ] {
        assert!(actions(&all).iter().any(|a| a == action), "{action}");
    }
    let (_, own) = send(ann.http.get(server.url("/api/v1/audit"))).await;
    assert!(
        own["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor_name"] == "ann")
    );
    assert!(actions(&own).contains(&"session.create".to_owned()));
    let (_, filtered) = send(
        server
            .http
            .get(server.url("/api/v1/audit?action=token.create&actor=ann")),
    )
    .await;
    assert_eq!(actions(&filtered), vec!["token.create"]);
    let (status, _) = send(server.http.get(server.url("/api/v1/audit?since=yesterday"))).await;
    assert_eq!(status, 400);

    let ndjson = server
        .http
        .get(server.url("/api/v1/audit?format=ndjson"))
        .send()
        .await
        .unwrap();
    assert_eq!(ndjson.headers()["content-type"], "application/x-ndjson");
    let text = ndjson.text().await.unwrap();
    assert!(
        text.lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok())
    );
    assert_eq!(
        text.lines().count(),
        all["entries"].as_array().unwrap().len()
    );
    let csv = server
        .http
        .get(server.url("/api/v1/audit?format=csv"))
        .send()
        .await
        .unwrap();
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("id,ts,actor_id,actor_name,action,target,ip,detail\n"));
    assert!(text.contains(",ann,session.create,"));
}

fn agentd(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_agentd"))
        .arg("admin")
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("AGENTD_CONFIG")
        .env_remove("AGENTD_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_work_on_a_data_dir_without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ok, out, err) = agentd(
        d,
        &[
            "user",
            "create",
            "ops",
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some("ops password 1234\n"),
    );
    assert!(ok, "{err}");
    assert!(out.starts_with("created admin ops"), "{out}");
    assert!(!out.contains("ops password 1234"));
    let (ok, out, _) = agentd(d, &["user", "create", "dev"], None);
    assert!(
        ok && out.contains("password: "),
        "a generated password is printed: {out}"
    );

    let (ok, token, err) = agentd(
        d,
        &[
            "token",
            "create",
            "--user",
            "dev",
            "--scope",
            "read",
            "--expires-in-days",
            "7",
        ],
        None,
    );
    assert!(ok, "{err}");
    let token = token.trim();
    assert!(
        token.starts_with("agentd_pat_") && !token.contains(' '),
        "only the token: {token}"
    );
    let (ok, _, err) = agentd(
        d,
        &["token", "create", "--user", "dev", "--scope", "admin"],
        None,
    );
    assert!(
        !ok && err.contains("scope admin"),
        "a member gets no admin token: {err}"
    );
    let (ok, _, err) = agentd(d, &["token", "create", "--user", "nobody"], None);
    assert!(!ok && err.contains("no user named nobody"), "{err}");
    let (ok, _, err) = agentd(d, &["user", "create", "dev"], None);
    assert!(!ok && err.contains("already exists"), "{err}");

    let (ok, _, _) = agentd(d, &["user", "disable", "dev"], None);
    assert!(ok);
    let (_, list, _) = agentd(d, &["user", "list"], None);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert!(lines[0].starts_with("dev\tmember\tdisabled\t"), "{list}");
    assert!(lines[1].starts_with("ops\tadmin\tactive\t"), "{list}");

    // The store holds the token's hash and the CLI's audit entries.
    let store = agentd_store::Store::open_sqlite(&d.join("agentd.db"))
        .await
        .unwrap();
    let hash = agentd_accounts::secret::hash_token(token);
    let record = store.token_by_hash(&hash).await.unwrap().unwrap();
    assert_eq!(record.scope, agentd_protocol::Scope::Read);
    assert!(record.expires_at.is_some());
    let filter = agentd_store::AuditFilter {
        limit: 100,
        ..Default::default()
    };
    let entries = store.list_audit(&filter).await.unwrap();
    assert!(entries.iter().all(|e| e.actor_name == "cli"));
    assert_eq!(entries.len(), 4, "two users, one token, one disable");
}
