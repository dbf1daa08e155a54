use std::time::{Duration, Instant};

use agentd_llm::{ApiErrorKind, LlmError, ModelClient, RetryPolicy, collect};
use agentd_protocol::ErrorCode;
use agentd_testkit::{Failure, FakeAnthropic, Reply, turn};
use pretty_assertions::assert_eq;

use crate::{client, client_with, request};

fn retry_counts(fake: &FakeAnthropic) -> Vec<String> {
    fake.requests()
        .iter()
        .map(|r| {
            r.header("x-stainless-retry-count")
                .unwrap_or("-")
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn overloaded_twice_then_success_takes_three_attempts() {
    let fake = FakeAnthropic::start().await;
    fake.push_failures(2, Failure::overloaded());
    fake.push(turn().text("made it"));
    let message = collect(client(&fake).stream(&request("m")).await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        message.content,
        vec![agentd_llm::ContentBlock::text("made it")]
    );
    assert_eq!(retry_counts(&fake), ["0", "1", "2"]);
}

#[tokio::test]
async fn attempts_stop_at_the_policy_limit() {
    let fake = FakeAnthropic::start().await;
    fake.push_failures(3, Failure::overloaded());
    fake.push(turn().text("too late"));
    let err = client(&fake).stream(&request("m")).await.err().unwrap();
    assert!(
        matches!(
            err,
            LlmError::Api {
                status: 529,
                kind: ApiErrorKind::Overloaded,
                retryable: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), ErrorCode::ModelOverloaded);
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn rate_limits_wait_for_retry_after() {
    let fake = FakeAnthropic::start().await;
    fake.push(Failure::rate_limited(1));
    fake.push(turn().text("ok"));
    let started = Instant::now();
    collect(client(&fake).stream(&request("m")).await.unwrap())
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(950),
        "retried after {elapsed:?}"
    );
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn retry_after_ms_wins_over_backoff() {
    let fake = FakeAnthropic::start().await;
    fake.push(Failure::server_error().retry_after_ms(150));
    fake.push(turn().text("ok"));
    let started = Instant::now();
    client(&fake).create(&request("m")).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(140));
}

#[tokio::test]
async fn bad_requests_are_not_retried() {
    let fake = FakeAnthropic::start().await;
    fake.push(Failure::bad_request("messages: field required"));
    fake.push(turn().text("never sent"));
    let err = client(&fake).stream(&request("m")).await.err().unwrap();
    assert_eq!(
        err,
        LlmError::Api {
            status: 400,
            kind: ApiErrorKind::InvalidRequest,
            message: "messages: field required".into(),
            request_id: Some("req_testkit_0001".into()),
            retryable: false,
            retry_after: None,
        }
    );
    assert_eq!(err.code(), ErrorCode::ModelInvalidRequest);
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_too_long_prompt_maps_to_context_window_exceeded() {
    let fake = FakeAnthropic::start().await;
    fake.push(Failure::bad_request(
        "prompt is too long: 212345 tokens > 200000 maximum",
    ));
    let err = client(&fake).stream(&request("m")).await.err().unwrap();
    assert_eq!(err.code(), ErrorCode::ContextWindowExceeded);
}

#[tokio::test]
async fn x_should_retry_false_overrides_a_500() {
    let fake = FakeAnthropic::start().await;
    fake.push(Failure::server_error().header("x-should-retry", "false"));
    fake.push(turn().text("never sent"));
    let err = client(&fake).stream(&request("m")).await.err().unwrap();
    assert!(
        matches!(
            err,
            LlmError::Api {
                status: 500,
                retryable: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn x_should_retry_true_overrides_a_400() {
    let fake = FakeAnthropic::start().await;
    fake.push(Failure::bad_request("try again").header("x-should-retry", "true"));
    fake.push(turn().text("ok"));
    collect(client(&fake).stream(&request("m")).await.unwrap())
        .await
        .unwrap();
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn unauthorized_is_an_authentication_error() {
    let fake = FakeAnthropic::start().await;
    fake.push(Reply::failure(Failure::unauthorized()));
    let err = client(&fake).stream(&request("m")).await.err().unwrap();
    assert_eq!(err.code(), ErrorCode::ModelAuthentication);
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn missing_credentials_are_rejected_by_the_fake() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().text("never served"));
    let client = client_with(&fake, |c| c.api_key = None);
    let err = client.count_tokens(&request("m")).await.unwrap_err();
    assert!(
        matches!(
            err,
            LlmError::Api {
                status: 401,
                kind: ApiErrorKind::Authentication,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_empty_script_answers_500_and_none_policy_does_not_retry() {
    let fake = FakeAnthropic::start().await;
    let client = client_with(&fake, |c| c.retry = RetryPolicy::none());
    let err = client.stream(&request("m")).await.err().unwrap();
    let LlmError::Api {
        status, message, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (*status, message.as_str()),
        (500, "testkit: no scripted reply left")
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn connection_errors_are_retried_then_reported_as_transport() {
    let fake = FakeAnthropic::start().await;
    let base = fake.base_url();
    drop(fake);
    let mut config = agentd_llm::AnthropicConfig::for_tests(base);
    config.connect_timeout = Duration::from_millis(200);
    let client = agentd_llm::AnthropicClient::new(config).unwrap();
    let err = client.stream(&request("m")).await.err().unwrap();
    assert!(matches!(err, LlmError::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
}
