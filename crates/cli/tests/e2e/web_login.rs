//! Browser logins: the session cookie and its CSRF guard, logout, logout
//! everywhere, expiry and Secure cookies behind a TLS-terminating proxy.

use std::time::Duration;

use agentd_testkit::{FakeAnthropic, turn};
use serde_json::json;

use crate::common::browser::Browser;
use crate::common::{Backend, Server, client_with, send};

async fn server_with(env: &[(&str, &str)]) -> (Server, FakeAnthropic) {
    let fake = FakeAnthropic::start().await;
    fake.set_default(turn().text("ok"));
    let server = Server::start_with(Backend::Sqlite, &fake, env).await;
    (server, fake)
}

async fn browser_session_guards_writes(backend: Backend) {
    let fake = FakeAnthropic::start().await;
    let server = Server::start(backend, &fake).await;
    let ann = server.member("ann").await;
    let mut b = Browser::new(&server.base);
    let login = b.login("ann", &ann.password).await;

    let session = login.set_cookie("agentd_session").unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "plain http: {session}");
    let csrf = login.set_cookie("agentd_csrf").unwrap();
    assert!(!csrf.contains("HttpOnly"), "the UI must read it: {csrf}");
    assert_eq!(login.body["csrf_token"], b.cookie("agentd_csrf").unwrap());
    assert_eq!(login.body["user"]["name"], "ann");
    assert!(
        b.cookie("agentd_session")
            .unwrap()
            .starts_with("agentd_ws_")
    );

    // Reads need only the cookie.
    let me = b.get("/api/v1/auth/me").await;
    assert_eq!(
        (me.status, me.body["user"]["name"].clone()),
        (200, json!("ann"))
    );

    // Writes need the Origin and the CSRF token.
    let ok = b.post("/api/v1/tokens", json!({"name": "from-ui"})).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    b.send_csrf = false;
    let no_csrf = b.post("/api/v1/tokens", json!({"name": "x"})).await;
    assert_eq!(no_csrf.status, 403);
    assert_eq!(no_csrf.body["error"]["code"], "forbidden");
    assert!(
        no_csrf.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("X-CSRF-Token")
    );
    b.send_csrf = true;
    b.send_origin = false;
    let no_origin = b.post("/api/v1/tokens", json!({"name": "x"})).await;
    assert_eq!(no_origin.status, 403, "{}", no_origin.body);
    let foreign = send(
        b.client
            .post(server.url("/api/v1/tokens"))
            .header("cookie", cookie_header(&b))
            .header("origin", "https://evil.example")
            .header("x-csrf-token", b.cookie("agentd_csrf").unwrap())
            .json(&json!({"name": "x"})),
    )
    .await;
    assert_eq!(foreign.0, 403, "{}", foreign.1);
    assert!(
        foreign.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Origin")
    );
    let referer = send(
        b.client
            .post(server.url("/api/v1/tokens"))
            .header("cookie", cookie_header(&b))
            .header("referer", server.url("/sessions/1"))
            .header("x-csrf-token", b.cookie("agentd_csrf").unwrap())
            .json(&json!({"name": "via-referer"})),
    )
    .await;
    assert_eq!(referer.0, 201, "{}", referer.1);
    b.send_origin = true;

    // Bearer requests are not the browser's doing: no CSRF checks.
    let bearer = send(
        ann.http
            .post(server.url("/api/v1/tokens"))
            .header("origin", "https://evil.example")
            .json(&json!({"name": "script"})),
    )
    .await;
    assert_eq!(bearer.0, 201, "{}", bearer.1);
    // The session secret is a cookie, not a bearer token.
    let as_bearer = client_with(b.cookie("agentd_session").unwrap());
    assert_eq!(
        send(as_bearer.get(server.url("/api/v1/auth/me"))).await.0,
        401
    );

    // A cross-site page cannot log the browser into its own account.
    let planted = send(
        server
            .anon
            .post(server.url("/api/v1/auth/session"))
            .header("origin", "https://evil.example")
            .json(&json!({"name": "ann", "password": ann.password})),
    )
    .await;
    assert_eq!(planted.0, 403, "{}", planted.1);

    // Logout clears the cookies and ends the session for good.
    let old = cookie_header(&b);
    let out = b.post("/api/v1/auth/logout", json!({})).await;
    assert_eq!(out.status, 204);
    assert!(
        out.set_cookie("agentd_session")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert!(b.cookie("agentd_session").is_none());
    let replay = send(
        server
            .anon
            .get(server.url("/api/v1/auth/me"))
            .header("cookie", old),
    )
    .await;
    assert_eq!(replay.0, 401);
    assert_eq!(replay.1["error"]["code"], "unauthorized");

    let (_, audit) = server.get("/api/v1/audit?actor=ann").await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"login.web"), "{actions:?}");
    assert!(actions.contains(&"logout"), "{actions:?}");
}
both_backends!(
    a_browser_session_guards_writes_with_csrf,
    browser_session_guards_writes
);

fn cookie_header(b: &Browser) -> String {
    b.cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_everywhere_ends_every_login_but_personal_tokens() {
    let (server, _fake) = server_with(&[]).await;
    let ann = server.member("ann").await;
    let (_, pat) = server.new_pat(&ann.http).await;
    let pair = send(
        server
            .anon
            .post(server.url("/api/v1/auth/login"))
            .json(&json!({"name": "ann", "password": ann.password})),
    )
    .await
    .1;
    let mut laptop = Browser::new(&server.base);
    laptop.login("ann", &ann.password).await;
    let mut phone = Browser::new(&server.base);
    phone.login("ann", &ann.password).await;

    let out = laptop.post("/api/v1/auth/logout-all", json!({})).await;
    assert_eq!(out.status, 204, "{}", out.body);
    assert!(laptop.cookie("agentd_session").is_none());

    let phone_me = phone.get("/api/v1/auth/me").await;
    assert_eq!(phone_me.status, 401);
    assert_eq!(phone_me.body["error"]["code"], "unauthorized");
    for token in [&ann.token, pair["access_token"].as_str().unwrap()] {
        assert_eq!(
            send(client_with(token).get(server.url("/api/v1/auth/me")))
                .await
                .0,
            401
        );
    }
    let refresh = send(
        server
            .anon
            .post(server.url("/api/v1/auth/refresh"))
            .json(&json!({"refresh_token": pair["refresh_token"]})),
    )
    .await;
    assert_eq!(refresh.0, 401);
    assert_eq!(
        send(client_with(&pat).get(server.url("/api/v1/auth/me")))
            .await
            .0,
        200
    );

    let (_, audit) = server.get("/api/v1/audit?action=logout.all").await;
    assert_eq!(audit["entries"][0]["actor_name"], "ann");
    // Two logins with tokens (access + refresh each) and two browsers.
    assert_eq!(audit["entries"][0]["detail"]["revoked"], 6, "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_and_cookies_are_secure_behind_an_https_proxy() {
    let (server, _fake) = server_with(&[
        ("AGENTD_BEHIND_PROXY", "true"),
        ("AGENTD_WEB_SESSION_TTL_SECS", "1"),
    ])
    .await;
    let ann = server.member("ann").await;
    let over_https = send(
        server
            .anon
            .post(server.url("/api/v1/auth/session"))
            .header("x-forwarded-proto", "https")
            .json(&json!({"name": "ann", "password": ann.password})),
    );
    let res = over_https.await;
    assert_eq!(res.0, 200, "{}", res.1);
    let res = server
        .anon
        .post(server.url("/api/v1/auth/session"))
        .header("x-forwarded-proto", "https")
        .json(&json!({"name": "ann", "password": ann.password}))
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(cookies.len(), 2);
    assert!(
        cookies.iter().all(|c| c.ends_with("; Secure")),
        "{cookies:?}"
    );

    let mut b = Browser::new(&server.base);
    let login = b.login("ann", &ann.password).await;
    assert!(
        !login
            .set_cookie("agentd_session")
            .unwrap()
            .contains("Secure")
    );
    assert_eq!(b.get("/api/v1/auth/me").await.status, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let expired = b.get("/api/v1/auth/me").await;
    assert_eq!(expired.status, 401);
    assert_eq!(expired.body["error"]["code"], "unauthorized");
    assert!(
        expired.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("log in again")
    );
}
