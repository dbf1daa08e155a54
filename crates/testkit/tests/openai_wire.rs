//! The OpenAI fake as any HTTP client sees it: chunk shapes, `[DONE]`,
//! quirks on the wire, error bodies, control endpoints, the binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use agentd_testkit::{Failure, FakeOpenAi, OpenAiReply, Quirk, WithQuirks, turn};
use serde_json::{Value, json};

fn post(fake: &FakeOpenAi) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(format!("{}/chat/completions", fake.base_url()))
        .bearer_auth("sk-test")
}

fn stream_body() -> Value {
    json!({"model": "llama3.1", "stream": true, "stream_options": {"include_usage": true}, "messages": []})
}

/// The JSON chunks of a streamed answer, and whether it ended with `[DONE]`.
async fn read_chunks(response: reqwest::Response) -> (Vec<Value>, bool) {
    let text = response.text().await.unwrap();
    let data: Vec<&str> = text
        .split("\n\n")
        .filter_map(|frame| frame.strip_prefix("data: "))
        .collect();
    let done = data.last() == Some(&"[DONE]");
    let chunks = data
        .iter()
        .filter(|d| **d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    (chunks, done)
}

#[tokio::test]
async fn streams_are_chat_completion_chunks_ending_in_done() {
    let fake = FakeOpenAi::start().await;
    fake.push(
        turn()
            .text("hi there")
            .tool_use("bash", json!({"command": "ls"}))
            .usage(10, 5, 4, 0),
    );
    let response = post(&fake).json(&stream_body()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    assert_eq!(response.headers()["x-request-id"], "req_testkit_0001");
    let (chunks, done) = read_chunks(response).await;
    assert!(done);
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk" && c["model"] == "llama3.1")
    );
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "hi there");
    let first_call = chunks
        .iter()
        .find_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
        .unwrap();
    assert_eq!(
        first_call,
        &json!({"index": 0, "id": "call_testkit_01", "type": "function", "function": {"name": "bash", "arguments": ""}})
    );
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "tool_calls");
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["prompt_tokens"], 14);
    assert_eq!(usage["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
}

#[tokio::test]
async fn quirks_change_the_wire_shape() {
    let fake = FakeOpenAi::start().await;
    let two = || {
        turn()
            .tool_use("a", json!({"x": 1}))
            .tool_use("b", json!({"y": 2}))
    };
    fake.push(
        two()
            .quirk(Quirk::WholeCallInOneChunk)
            .quirk(Quirk::RepeatedIndexZero)
            .quirk(Quirk::NullChoicesInUsage)
            .quirk(Quirk::NoDoneMarker),
    );
    let (chunks, done) = read_chunks(post(&fake).json(&stream_body()).send().await.unwrap()).await;
    assert!(!done);
    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].as_array())
        .flatten()
        .collect();
    assert_eq!(calls.len(), 2, "both whole calls in one chunk");
    assert!(calls.iter().all(|c| c["index"] == 0));
    assert_eq!(calls[1]["function"]["arguments"], "{\"y\":2}");
    assert_eq!(chunks.last().unwrap()["choices"], Value::Null);

    fake.set_quirks([Quirk::MissingIndex, Quirk::NoUsage]);
    fake.push(two());
    let (chunks, done) = read_chunks(post(&fake).json(&stream_body()).send().await.unwrap()).await;
    assert!(done);
    assert!(chunks.iter().all(|c| c["usage"].is_null()));
    assert!(
        chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].as_array())
            .flatten()
            .all(|call| call.get("index").is_none())
    );
}

#[tokio::test]
async fn errors_have_the_openai_body_and_a_missing_bearer_is_401() {
    let fake = FakeOpenAi::start().await;
    fake.push(Failure::rate_limited(2));
    let response = post(&fake).json(&stream_body()).send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "2");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert!(body["error"].get("param").is_some());

    fake.push(turn().text("kept"));
    let response = reqwest::Client::new()
        .post(format!("{}/chat/completions", fake.base_url()))
        .json(&stream_body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(
        fake.pending_replies(),
        1,
        "a rejected request consumes no reply"
    );
}

#[tokio::test]
async fn non_streaming_answers_are_one_chat_completion() {
    let fake = FakeOpenAi::start().await;
    fake.push(turn().text("whole").stop_reason("max_tokens"));
    let body: Value = post(&fake)
        .json(&json!({"model": "m", "messages": []}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["content"], "whole");
    assert_eq!(body["choices"][0]["finish_reason"], "length");
}

#[tokio::test]
async fn control_endpoints_accept_replies_with_quirks() {
    let fake = FakeOpenAi::start().await;
    let base = fake.base_url().replace("/v1", "");
    let http = reqwest::Client::new();
    let replies = vec![OpenAiReply::from(turn().text("scripted")).quirk(Quirk::NoUsage)];
    http.post(format!("{base}/__testkit/replies"))
        .json(&replies)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let (chunks, _) = read_chunks(post(&fake).json(&stream_body()).send().await.unwrap()).await;
    assert!(chunks.iter().all(|c| c["usage"].is_null()));
    let recorded: Vec<Value> = http
        .get(format!("{base}/__testkit/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(recorded[0]["path"], "/v1/chat/completions");
}

#[test]
fn the_binary_prints_the_openai_base_url() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentd-testkit"))
        .args(["openai", "--port", "0", "--no-auth"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let url = line
        .trim()
        .strip_prefix("OPENAI_BASE_URL=http://127.0.0.1:")
        .unwrap();
    assert!(url.ends_with("/v1"), "{line}");
}
