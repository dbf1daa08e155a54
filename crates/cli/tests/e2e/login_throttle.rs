//! Guessing passwords gets slow, then locked: each failure makes the next
//! attempt wait (429 with Retry-After), the account locks after the
//! configured count, and unlocks after the window or when an admin says so.
//! One address spraying many names is slowed as well.

use std::time::Duration;

use agentd_testkit::FakeAnthropic;
use serde_json::{Value, json};

use crate::common::{Backend, Server, send};

async fn attempt(server: &Server, name: &str, password: &str) -> (u16, Option<u64>) {
    let res = server
        .anon
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"name": name, "password": password}))
        .send()
        .await
        .unwrap();
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    let code = body["error"]["code"].as_str().unwrap_or("");
    match status {
        401 => assert_eq!(code, "unauthorized"),
        429 => assert_eq!(code, "rate_limited"),
        _ => {}
    }
    (status, retry_after)
}

/// Fails `n` logins, waiting out each backoff, as a patient attacker would.
async fn fail_patiently(server: &Server, name: &str, n: u32) {
    for _ in 0..n {
        loop {
            match attempt(server, name, "wrong password!!").await {
                (401, _) => break,
                (429, Some(_)) => tokio::time::sleep(Duration::from_millis(50)).await,
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_back_off_then_lock_until_the_window_or_an_admin() {
    let fake = FakeAnthropic::start().await;
    let env = [
        ("AGENTD_LOGIN_LOCKOUT_AFTER", "4"),
        ("AGENTD_LOGIN_LOCKOUT_SECS", "2"),
        ("AGENTD_LOGIN_FREE_ATTEMPTS", "1"),
        // Wide enough that a loaded machine answers the next request
        // inside the window.
        ("AGENTD_LOGIN_BACKOFF_MS", "400"),
        ("AGENTD_LOGIN_IP_FREE_ATTEMPTS", "1000"),
    ];
    let server = Server::start_with(Backend::Sqlite, &fake, &env).await;
    let bob = server.member("bob").await;

    // One failure: the next attempt, even with the right password, waits.
    assert_eq!(attempt(&server, "bob", "wrong password!!").await.0, 401);
    let (status, retry_after) = attempt(&server, "bob", &bob.password).await;
    assert_eq!(status, 429);
    assert!(retry_after.unwrap() >= 1);

    // Four failures in all lock the account, right password or not.
    tokio::time::sleep(Duration::from_millis(450)).await;
    fail_patiently(&server, "bob", 3).await;
    let (status, retry_after) = attempt(&server, "bob", &bob.password).await;
    assert_eq!(status, 429, "locked");
    assert!((1..=2).contains(&retry_after.unwrap()));
    let (_, users) = send(server.http.get(server.url("/api/v1/users"))).await;
    let locked = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "bob")
        .unwrap();
    assert!(locked["locked_until"].is_string(), "{locked}");

    // After the window the right password works again.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(attempt(&server, "bob", &bob.password).await.0, 200);

    // Locked again, an admin unlocks at once.
    fail_patiently(&server, "bob", 4).await;
    assert_eq!(attempt(&server, "bob", &bob.password).await.0, 429);
    let (status, _) = send(
        server
            .http
            .post(server.url(&format!("/api/v1/users/{}/unlock", bob.id))),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(attempt(&server, "bob", &bob.password).await.0, 200);

    // The audit log has it all, and no password.
    let (_, audit) = send(server.http.get(server.url("/api/v1/audit?limit=1000"))).await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "login.failure",
        "user.locked",
        "user.unlock",
        "login.success",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert!(!audit.to_string().contains(&bob.password));
    assert!(!server.log().contains(&bob.password));
    assert!(!server.log().contains("wrong password!!"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_guessing_many_names_is_slowed() {
    let fake = FakeAnthropic::start().await;
    let env = [
        ("AGENTD_LOGIN_IP_FREE_ATTEMPTS", "3"),
        ("AGENTD_LOGIN_BACKOFF_MS", "1000"),
    ];
    let server = Server::start_with(Backend::Sqlite, &fake, &env).await;
    for name in ["x1", "x2", "x3"] {
        assert_eq!(attempt(&server, name, "guess guess guess").await.0, 401);
    }
    let (status, retry_after) = attempt(&server, "x4", "guess guess guess").await;
    assert_eq!((status, retry_after), (429, Some(1)));
}
