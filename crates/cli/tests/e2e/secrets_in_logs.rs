//! Secrets stay out of the server's log: a flow that uses every kind of
//! secret agentd handles (the model API key from the environment, personal
//! access tokens, password logins, login and browser-session tokens, a
//! stored key, the GitHub app secret and a GitHub OAuth token), with debug
//! logging on, and then a search of the whole log for each of them.

use std::time::Duration;

use agentd_testkit::github_oauth::FakeGitHubOAuth;
use agentd_testkit::{FakeAnthropic, turn};
use serde_json::json;

use crate::common::browser::Browser;
use crate::common::{ADMIN_PASSWORD, Backend, Server, client_with, send};

const BYOK: &str = "sk-ant-api03-LogProbeSecret-5f5f5f5f5f5f";
/// The harness's `ANTHROPIC_API_KEY`.
const ENV_API_KEY: &str = "sk-ant-test-key-e2e";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_server_log() {
    let fake = FakeAnthropic::start().await;
    fake.set_default(turn().text("done"));
    let gh = FakeGitHubOAuth::start().await;
    let base = gh.base_url();
    let env = [
        ("AGENTD_LOG", "debug"),
        ("AGENTD_GITHUB_CLIENT_ID", FakeGitHubOAuth::CLIENT_ID),
        (
            "AGENTD_GITHUB_CLIENT_SECRET",
            FakeGitHubOAuth::CLIENT_SECRET,
        ),
        ("AGENTD_GITHUB_OAUTH_URL", base.as_str()),
        ("AGENTD_GITHUB_API_URL", base.as_str()),
        ("AGENTD_GITHUB_ALLOW_SIGNUP", "true"),
    ];
    let server = Server::start_with(Backend::Sqlite, &fake, &env).await;

    // Password logins (tokens and browser), a PAT, a stored key.
    let ann = server.member("ann").await;
    let (_, pat) = server.new_pat(&ann.http).await;
    let pair = send(
        server
            .anon
            .post(server.url("/api/v1/auth/login"))
            .json(&json!({"name": "admin", "password": ADMIN_PASSWORD})),
    )
    .await
    .1;
    let refreshed = send(
        server
            .anon
            .post(server.url("/api/v1/auth/refresh"))
            .json(&json!({"refresh_token": pair["refresh_token"]})),
    )
    .await
    .1;
    let wrong = send(
        server
            .anon
            .post(server.url("/api/v1/auth/login"))
            .json(&json!({"name": "ann", "password": "wrong-password-attempt"})),
    )
    .await;
    assert_eq!(wrong.0, 401);
    let mut b = Browser::new(&server.base);
    b.login("ann", &ann.password).await;
    let put = b
        .request(
            reqwest::Method::PUT,
            "/api/v1/credentials/anthropic",
            Some(json!({"secret": BYOK})),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    let ticket = send(client_with(&pat).post(server.url("/api/v1/auth/ticket")))
        .await
        .1;

    // A session, so the model API key is used.
    let dir = tempfile::tempdir().unwrap();
    let (status, session) = send(
        client_with(&pat)
            .post(server.url("/api/v1/sessions"))
            .json(&json!({"prompt": "hello", "workspace": {"path": dir.path()}})),
    )
    .await;
    assert_eq!(status, 201, "{session}");
    let id = session["id"].as_str().unwrap();
    let events = server.url(&format!(
        "/api/v1/sessions/{id}/events?format=json&ticket={}",
        ticket["ticket"].as_str().unwrap()
    ));
    assert_eq!(send(server.anon.get(events)).await.0, 200);

    // GitHub sign-up, which handles an OAuth token.
    let mut g = Browser::new(&server.base);
    let start = g.get("/api/v1/auth/github/start").await;
    let back = g.get(&start.location().unwrap()).await;
    let done = g.get(&back.location().unwrap()).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let oauth_tokens = gh.issued_tokens();
    assert_eq!(oauth_tokens.len(), 1);

    // Let the turn finish and its logs flush.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while fake.requests().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let log = server.log();
    assert!(log.contains("agentd serving"), "{log}");
    assert!(log.lines().count() > 20, "debug logging was on:\n{log}");
    let mut secrets = vec![
        ENV_API_KEY.to_owned(),
        ADMIN_PASSWORD.to_owned(),
        ann.password.clone(),
        "wrong-password-attempt".to_owned(),
        server.token.clone(),
        ann.token.clone(),
        pat,
        BYOK.to_owned(),
        FakeGitHubOAuth::CLIENT_SECRET.to_owned(),
        b.cookie("agentd_session").unwrap().to_owned(),
        g.cookie("agentd_session").unwrap().to_owned(),
    ];
    for field in ["access_token", "refresh_token"] {
        secrets.push(pair[field].as_str().unwrap().to_owned());
        secrets.push(refreshed[field].as_str().unwrap().to_owned());
    }
    secrets.extend(oauth_tokens);
    for secret in &secrets {
        assert!(!secret.is_empty());
        assert!(
            !log.contains(secret.as_str()),
            "the log holds {secret}:\n{log}"
        );
    }
}
