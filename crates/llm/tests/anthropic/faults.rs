use std::time::Duration;

use agentd_llm::{ApiErrorKind, LlmError, ModelClient, collect};
use agentd_protocol::ErrorCode;
use agentd_testkit::{FakeAnthropic, turn};
use futures::StreamExt;

use crate::{client, client_with, request};

async fn stream_error(fake: &FakeAnthropic) -> LlmError {
    let events = client(fake)
        .stream(&request("claude-sonnet-4-5"))
        .await
        .unwrap();
    collect(events).await.unwrap_err()
}

#[tokio::test]
async fn a_mid_stream_disconnect_is_stream_ended() {
    let fake = FakeAnthropic::start().await;
    fake.push(
        turn()
            .text("this will be cut off halfway")
            .disconnect_after(4),
    );
    let err = stream_error(&fake).await;
    assert_eq!(err, LlmError::StreamEnded);
    assert!(err.is_retryable());
    assert_eq!(err.code(), ErrorCode::ModelStreamInterrupted);
}

#[tokio::test]
async fn a_mid_stream_error_event_is_a_retryable_stream_error() {
    let fake = FakeAnthropic::start().await;
    fake.push(
        turn()
            .text("partial answer")
            .error_event_after(3, "overloaded_error"),
    );
    let err = stream_error(&fake).await;
    assert_eq!(
        err,
        LlmError::Stream {
            kind: ApiErrorKind::Overloaded,
            message: "Overloaded".into()
        }
    );
    assert!(err.is_retryable());
    assert_eq!(err.code(), ErrorCode::ModelOverloaded);
    // Nothing is retried once the 200 arrived.
    assert_eq!(fake.message_requests().len(), 1);
}

#[tokio::test]
async fn a_malformed_frame_is_a_decode_error() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().text("hello there").malformed_frame_at(3));
    let err = stream_error(&fake).await;
    assert!(matches!(err, LlmError::Decode(_)), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn an_idle_stream_times_out() {
    let fake = FakeAnthropic::start().await;
    fake.push(
        turn()
            .text("slow")
            .delay_per_event(Duration::from_millis(400)),
    );
    let client = client_with(&fake, |c| c.idle_timeout = Duration::from_millis(100));
    let mut events = client.stream(&request("claude-sonnet-4-5")).await.unwrap();
    let first = events.next().await;
    assert_eq!(
        first,
        Some(Err(LlmError::IdleTimeout(Duration::from_millis(100))))
    );
    assert_eq!(events.next().await, None, "an error ends the stream");
}

#[tokio::test]
async fn dropping_the_stream_releases_the_fake() {
    let fake = FakeAnthropic::start().await;
    fake.push(
        turn()
            .text("a long and slow answer")
            .delay_per_event(Duration::from_millis(50)),
    );
    fake.push(turn().text("next"));
    let client = client(&fake);
    let mut events = client.stream(&request("m")).await.unwrap();
    let _ = events.next().await;
    drop(events);
    let next = collect(client.stream(&request("m")).await.unwrap())
        .await
        .unwrap();
    assert_eq!(next.content, vec![agentd_llm::ContentBlock::text("next")]);
}
