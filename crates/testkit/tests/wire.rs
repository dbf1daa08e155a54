//! The fake as any HTTP client sees it: raw SSE bytes, headers, error
//! bodies, control endpoints, and the standalone binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use agentd_testkit::{Failure, FakeAnthropic, Reply, turn};
use serde_json::{Value, json};

fn post(url: String) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(url)
        .header("x-api-key", "k")
        .header("anthropic-version", "2023-06-01")
}

#[tokio::test]
async fn streams_are_framed_like_the_api() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().text("hi"));
    let response = post(format!("{}/v1/messages", fake.base_url()))
        .json(&json!({"model": "claude-x", "max_tokens": 10, "stream": true, "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    assert_eq!(headers["request-id"], "req_testkit_0001");
    assert!(headers.contains_key("anthropic-ratelimit-requests-reset"));
    let text = response.text().await.unwrap();
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(
        names,
        [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert!(text.starts_with("event: message_start\ndata: {"));
    assert!(text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
}

#[tokio::test]
async fn failures_have_the_api_error_body_and_headers() {
    let fake = FakeAnthropic::start().await;
    fake.push(Failure::rate_limited(3).retry_after_ms(2500));
    let response = post(format!("{}/v1/messages", fake.base_url()))
        .json(&json!({"model": "m"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "3");
    assert_eq!(response.headers()["retry-after-ms"], "2500");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert_eq!(body["request_id"], "req_testkit_0001");
}

#[tokio::test]
async fn requests_without_credentials_get_401_and_are_recorded() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().text("kept for later"));
    let response = reqwest::Client::new()
        .post(format!("{}/v1/messages", fake.base_url()))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        fake.pending_replies(),
        1,
        "a rejected request consumes no reply"
    );
    let seen = fake.wait_for_requests(1, Duration::from_secs(1)).await;
    assert_eq!(seen[0].path, "/v1/messages");
}

#[tokio::test]
async fn control_endpoints_script_the_fake_over_http() {
    let fake = FakeAnthropic::start().await;
    let base = fake.base_url();
    let http = reqwest::Client::new();
    let replies = vec![
        Reply::from(turn().text("scripted")),
        Reply::failure(Failure::overloaded()),
    ];
    http.post(format!("{base}/__testkit/replies"))
        .json(&replies)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    http.post(format!("{base}/__testkit/default"))
        .json(&Reply::from(turn().text("fallback")))
        .send()
        .await
        .unwrap();
    let statuses = {
        let mut out = vec![];
        for _ in 0..3 {
            out.push(
                post(format!("{base}/v1/messages"))
                    .json(&json!({"model": "m"}))
                    .send()
                    .await
                    .unwrap(),
            );
        }
        out
    };
    assert_eq!(
        statuses
            .iter()
            .map(|r| r.status().as_u16())
            .collect::<Vec<_>>(),
        [200, 529, 200]
    );
    let last: Value = statuses.into_iter().last().unwrap().json().await.unwrap();
    assert_eq!(
        last["content"],
        json!([{"type": "text", "text": "fallback"}])
    );
    let recorded: Vec<Value> = http
        .get(format!("{base}/__testkit/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(recorded.len(), 3);
    http.post(format!("{base}/__testkit/reset"))
        .send()
        .await
        .unwrap();
    assert!(fake.requests().is_empty());
}

#[test]
fn the_binary_prints_its_base_url_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentd-testkit"))
        .args(["anthropic", "--port", "0", "--token-delay-ms", "1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("ANTHROPIC_BASE_URL=")
        .unwrap()
        .to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let result = runtime.block_on(async {
        let http = reqwest::Client::new();
        http.post(format!("{base}/__testkit/replies"))
            .json(&vec![Reply::from(turn().text("hello"))])
            .send()
            .await?;
        let count: Value = post(format!("{base}/v1/messages/count_tokens"))
            .json(&json!({"model": "m", "messages": []}))
            .send()
            .await?
            .json()
            .await?;
        let message: Value = post(format!("{base}/v1/messages"))
            .json(&json!({"model": "m"}))
            .send()
            .await?
            .json()
            .await?;
        Ok::<_, reqwest::Error>((count, message))
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let (count, message) = result.unwrap();
    assert!(count["input_tokens"].as_u64().unwrap() >= 1);
    assert_eq!(message["content"][0]["text"], "hello");
}
