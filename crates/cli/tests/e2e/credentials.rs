//! Bring your own key: each user stores their own provider keys, sees only
//! a hint of them, and the database never holds one in clear.

use agentd_testkit::FakeAnthropic;
use serde_json::{Value, json};

use crate::common::{Backend, Server, send};

const ANN_KEY: &str = "sk-ant-api03-ByokSecretValue-0123456789-wxyz";
const ANN_GH: &str = "ghp_ByokGitHubToken0123456789abcdEFGH";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_store_their_own_keys_encrypted() {
    let fake = FakeAnthropic::start().await;
    let server = Server::start(Backend::Sqlite, &fake).await;
    let ann = server.member("ann").await;
    let bob = server.member("bob").await;
    let url = |p: &str| server.url(&format!("/api/v1/credentials{p}"));

    let (status, body) = send(
        ann.http
            .put(url("/anthropic"))
            .json(&json!({"secret": format!("{ANN_KEY}\n")})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "anthropic");
    assert_eq!(body["hint"], "…wxyz");
    let (status, _) = send(
        ann.http
            .put(url("/github"))
            .json(&json!({"secret": ANN_GH})),
    )
    .await;
    assert_eq!(status, 200);
    // Replacing keeps one entry per provider.
    let (status, _) = send(
        ann.http
            .put(url("/github"))
            .json(&json!({"secret": ANN_GH})),
    )
    .await;
    assert_eq!(status, 200);

    let (status, list) = send(ann.http.get(url(""))).await;
    assert_eq!(status, 200);
    let providers: Vec<&str> = list["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["provider"].as_str().unwrap())
        .collect();
    assert_eq!(providers, ["anthropic", "github"]);
    let text = list.to_string();
    assert!(!text.contains(ANN_KEY) && !text.contains(ANN_GH), "{text}");
    assert_eq!(
        list["credentials"][0]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["hint", "provider", "updated_at"]
    );

    // Each user sees and deletes only their own.
    assert_eq!(
        send(bob.http.get(url(""))).await.1,
        json!({"credentials": []})
    );
    let (status, body) = send(bob.http.delete(url("/anthropic"))).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (404, json!("not_found"))
    );

    // Bad requests.
    let (status, body) = send(ann.http.put(url("/gitlab")).json(&json!({"secret": "x"}))).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (404, json!("not_found")),
        "{body}"
    );
    for bad in ["", "   ", "two words"] {
        let (status, body) = send(ann.http.put(url("/openai")).json(&json!({"secret": bad}))).await;
        assert_eq!(status, 400, "{bad:?}: {body}");
        assert_eq!(body["error"]["code"], "validation_failed");
    }

    // Nothing in the database file (or its WAL) is the key in clear.
    let mut bytes = Vec::new();
    for name in ["agentd.db", "agentd.db-wal"] {
        if let Ok(b) = std::fs::read(server.data_dir.path().join(name)) {
            bytes.extend(b);
        }
    }
    assert!(bytes.len() > 4096, "the database was read");
    for secret in [ANN_KEY, ANN_GH, &ANN_KEY[7..30]] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is in the database in clear"
        );
    }
    let key_file = server.data_dir.path().join("master.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let (status, _) = send(ann.http.delete(url("/anthropic"))).await;
    assert_eq!(status, 204);
    let (status, _) = send(ann.http.delete(url("/anthropic"))).await;
    assert_eq!(status, 404);

    let (_, audit) = server.get("/api/v1/audit?actor=ann").await;
    let entries: Vec<&Value> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("credential."))
        .collect();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "credential.delete",
            "credential.set",
            "credential.set",
            "credential.set"
        ]
    );
    assert_eq!(entries[0]["detail"], json!({"provider": "anthropic"}));
    assert!(!audit.to_string().contains(&ANN_KEY[7..30]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_key_from_the_environment_replaces_the_key_file() {
    let fake = FakeAnthropic::start().await;
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes
    let server = Server::start_with(Backend::Sqlite, &fake, &[("AGENTD_MASTER_KEY", key)]).await;
    let (status, _) = send(
        server
            .http
            .put(server.url("/api/v1/credentials/openai"))
            .json(&json!({"secret": "sk-proj-abcdefghijkl"})),
    )
    .await;
    assert_eq!(status, 200);
    assert!(!server.data_dir.path().join("master.key").exists());
    assert!(!server.log().contains(key));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_uses_its_owners_key_else_the_servers() {
    let fake = FakeAnthropic::start().await;
    fake.set_default(agentd_testkit::turn().text("hi"));
    let server = Server::start(Backend::Sqlite, &fake).await;
    let ann = server.member("ann").await;
    let bob = server.member("bob").await;
    let (status, _) = send(
        ann.http
            .put(server.url("/api/v1/credentials/anthropic"))
            .json(&json!({"secret": ANN_KEY})),
    )
    .await;
    assert_eq!(status, 200);
    let workspace = tempfile::tempdir().unwrap();
    for member in [&ann, &bob] {
        let (status, created) = send(
            member
                .http
                .post(server.url("/api/v1/sessions"))
                .json(&json!({"prompt": "hello", "workspace": {"path": workspace.path()}})),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        server
            .wait_status(created["id"].as_str().unwrap(), &["idle"])
            .await;
    }
    let keys: Vec<Option<String>> = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/messages")
        .map(|r| r.header("x-api-key").map(str::to_owned))
        .collect();
    assert_eq!(
        keys,
        [
            Some(ANN_KEY.to_owned()),
            Some("sk-ant-test-key-e2e".to_owned())
        ]
    );
    assert!(!server.log().contains(ANN_KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openai_model_uses_its_owners_openai_key_else_the_servers() {
    let fake = FakeAnthropic::start().await;
    let openai = agentd_testkit::FakeOpenAi::start().await;
    openai.set_default(agentd_testkit::turn().text("hi"));
    let openai_url = openai.base_url();
    let server = Server::start_with(
        Backend::Sqlite,
        &fake,
        &[
            ("OPENAI_BASE_URL", openai_url.as_str()),
            ("OPENAI_API_KEY", "sk-server-openai-key-0000"),
        ],
    )
    .await;
    let ann = server.member("ann").await;
    let bob = server.member("bob").await;
    let ann_openai = "sk-proj-ann-own-openai-key-1234";
    let (status, _) = send(
        ann.http
            .put(server.url("/api/v1/credentials/openai"))
            .json(&json!({"secret": ann_openai})),
    )
    .await;
    assert_eq!(status, 200);
    let workspace = tempfile::tempdir().unwrap();
    for member in [&ann, &bob] {
        let (status, created) = send(
            member
                .http
                .post(server.url("/api/v1/sessions"))
                .json(&json!({"prompt": "hello", "model": "openai:local-model",
                    "workspace": {"path": workspace.path()}})),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        server
            .wait_status(created["id"].as_str().unwrap(), &["idle"])
            .await;
    }
    let keys: Vec<Option<String>> = openai
        .requests()
        .iter()
        .map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(
        keys,
        [
            Some(format!("Bearer {ann_openai}")),
            Some("Bearer sk-server-openai-key-0000".to_owned())
        ]
    );
    assert!(
        fake.requests().is_empty(),
        "no Anthropic call for openai: models"
    );
    assert!(!server.log().contains(ann_openai));
}
