//! HTTP errors, retry and broken streams.

use std::time::{Duration, Instant};

use agentd_llm::{ApiErrorKind, LlmError, ModelClient, collect};
use agentd_protocol::ErrorCode;
use agentd_testkit::{Failure, FakeOpenAi, turn};
use pretty_assertions::assert_eq;

use crate::{client, client_with, request};

async fn stream_err(fake: &FakeOpenAi) -> LlmError {
    client(fake).stream(&request("m")).await.err().unwrap()
}

#[tokio::test]
async fn statuses_map_to_api_error_kinds() {
    let fake = FakeOpenAi::start().await;
    let cases = [
        (
            Failure::new(400, "invalid_request_error", "bad tools"),
            ApiErrorKind::InvalidRequest,
            ErrorCode::ModelInvalidRequest,
        ),
        (
            Failure::new(401, "invalid_request_error", "Incorrect API key"),
            ApiErrorKind::Authentication,
            ErrorCode::ModelAuthentication,
        ),
        (
            Failure::new(404, "invalid_request_error", "The model `x` does not exist"),
            ApiErrorKind::NotFound,
            ErrorCode::ModelNotFound,
        ),
    ];
    for (failure, kind, code) in cases {
        let message = failure.message.clone();
        let status = failure.status;
        fake.push(failure);
        let err = stream_err(&fake).await;
        assert_eq!(
            err,
            LlmError::Api {
                status,
                kind,
                message,
                request_id: Some(format!("req_testkit_{:04}", fake.requests().len())),
                retryable: false,
                retry_after: None,
            }
        );
        assert_eq!(err.code(), code);
    }
    assert_eq!(fake.requests().len(), 3, "client errors are not retried");
}

#[tokio::test]
async fn a_missing_bearer_is_a_401() {
    let fake = FakeOpenAi::start().await;
    fake.push(turn().text("never"));
    let err = client_with(&fake, |c| c.api_key = None)
        .stream(&request("m"))
        .await
        .err()
        .unwrap();
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
    assert_eq!(fake.pending_replies(), 1);
}

#[tokio::test]
async fn rate_limits_wait_for_retry_after() {
    let fake = FakeOpenAi::start().await;
    fake.push(Failure::rate_limited(1));
    fake.push(turn().text("ok"));
    let started = Instant::now();
    collect(client(&fake).stream(&request("m")).await.unwrap())
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    let retries: Vec<_> = fake
        .requests()
        .iter()
        .map(|r| {
            r.header("x-stainless-retry-count")
                .unwrap_or("-")
                .to_owned()
        })
        .collect();
    assert_eq!(retries, ["0", "1"]);
}

#[tokio::test]
async fn a_server_error_then_success_is_retried_and_exhaustion_reports_the_last() {
    let fake = FakeOpenAi::start().await;
    fake.push(Failure::new(500, "server_error", "The server had an error"));
    fake.push(turn().text("recovered"));
    let message = client(&fake).create(&request("m")).await.unwrap();
    assert_eq!(
        message.content,
        vec![agentd_llm::ContentBlock::text("recovered")]
    );

    fake.reset();
    fake.push_failures(3, Failure::new(503, "server_error", "busy"));
    let err = stream_err(&fake).await;
    assert!(
        matches!(
            err,
            LlmError::Api {
                status: 503,
                kind: ApiErrorKind::Api,
                retryable: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn a_stream_that_ends_early_is_stream_ended() {
    let fake = FakeOpenAi::start().await;
    // Frames: role, three text pieces, finish, usage, [DONE]; cut after two.
    fake.push(
        turn()
            .text("this answer is cut off halfway")
            .disconnect_after(2),
    );
    let events = client(&fake).stream(&request("m")).await.unwrap();
    let err = collect(events).await.unwrap_err();
    assert_eq!(err, LlmError::StreamEnded);
    assert!(err.is_retryable());
    assert_eq!(
        fake.message_requests().len(),
        1,
        "nothing is retried after the 200"
    );
}

#[tokio::test]
async fn a_mid_stream_error_chunk_and_garbage_are_errors() {
    let fake = FakeOpenAi::start().await;
    fake.push(
        turn()
            .text("partial answer")
            .error_event_after(2, "server_error"),
    );
    let err = collect(client(&fake).stream(&request("m")).await.unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            LlmError::Stream {
                kind: ApiErrorKind::Api,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());

    fake.push(turn().text("hello there").malformed_frame_at(1));
    let err = collect(client(&fake).stream(&request("m")).await.unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Decode(_)), "{err:?}");
}

#[tokio::test]
async fn a_stalled_stream_hits_the_idle_timeout() {
    let fake = FakeOpenAi::start().await;
    fake.push(
        turn()
            .text("slow")
            .delay_per_event(Duration::from_millis(400)),
    );
    let client = client_with(&fake, |c| c.idle_timeout = Duration::from_millis(150));
    let err = collect(client.stream(&request("m")).await.unwrap())
        .await
        .unwrap_err();
    assert_eq!(err, LlmError::IdleTimeout(Duration::from_millis(150)));
}
