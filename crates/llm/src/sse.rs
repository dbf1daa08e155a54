//! Turns a response byte stream into typed events: SSE framing by
//! `eventsource-stream`, an idle timeout on every read, and a stream that
//! either reaches `message_stop` or ends with an error.

use std::time::Duration;

use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures::{Stream, StreamExt};

use crate::client::EventStream;
use crate::error::LlmError;
use crate::stream::StreamEvent;

struct State<S> {
    events: S,
    finished: bool,
}

/// Decodes SSE from `bytes`. Pings are dropped; the stream ends after
/// `message_stop` or after the first error it yields.
pub fn decode<S, B, E>(bytes: S, idle_timeout: Duration) -> EventStream
where
    S: Stream<Item = Result<B, E>> + Send + 'static,
    B: AsRef<[u8]> + Send,
    E: std::fmt::Display + Send,
{
    let state = State {
        events: Box::pin(bytes.eventsource()),
        finished: false,
    };
    Box::pin(futures::stream::unfold(
        state,
        move |mut state| async move {
            if state.finished {
                return None;
            }
            let item = next_event(&mut state, idle_timeout).await;
            // message_stop and every error are terminal.
            state.finished = matches!(item, Ok(StreamEvent::MessageStop) | Err(_));
            Some((item, state))
        },
    ))
}

async fn next_event<S, E>(
    state: &mut State<S>,
    idle_timeout: Duration,
) -> Result<StreamEvent, LlmError>
where
    S: Stream<Item = Result<Event, EventStreamError<E>>> + Unpin,
    E: std::fmt::Display,
{
    loop {
        let next = tokio::time::timeout(idle_timeout, state.events.next())
            .await
            .map_err(|_| LlmError::IdleTimeout(idle_timeout))?;
        let frame = match next {
            None => return Err(LlmError::StreamEnded),
            Some(Err(EventStreamError::Transport(err))) => {
                // A reset or truncated body mid-stream: the stream closed early.
                tracing::debug!(error = %err, "model stream transport error");
                return Err(LlmError::StreamEnded);
            }
            Some(Err(err @ (EventStreamError::Utf8(_) | EventStreamError::Parser(_)))) => {
                return Err(LlmError::Decode(format!("bad SSE frame: {err}")));
            }
            Some(Ok(frame)) => frame,
        };
        if frame.data.is_empty() {
            continue;
        }
        let event = serde_json::from_str::<StreamEvent>(&frame.data)
            .map_err(|e| LlmError::Decode(format!("bad `{}` event data: {e}", frame.event)))?;
        match event {
            StreamEvent::Ping => {}
            StreamEvent::Error { error } => {
                return Err(LlmError::Stream {
                    kind: error.kind,
                    message: error.message,
                });
            }
            other => return Ok(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiErrorKind;

    const START: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"x\",\"usage\":{\"input_tokens\":1}}}\n\n";
    const PING: &str = "event: ping\ndata: {\"type\": \"ping\"}\n\n";
    const STOP: &str = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

    async fn run(
        chunks: Vec<Result<&'static str, &'static str>>,
    ) -> Vec<Result<StreamEvent, LlmError>> {
        let bytes = futures::stream::iter(chunks);
        decode(bytes, Duration::from_secs(1)).collect().await
    }

    #[tokio::test]
    async fn pings_are_dropped_and_stop_ends_the_stream() {
        let out = run(vec![Ok(START), Ok(PING), Ok(STOP), Ok(PING)]).await;
        assert_eq!(out.len(), 2);
        assert!(matches!(out[0], Ok(StreamEvent::MessageStart { .. })));
        assert_eq!(out[1], Ok(StreamEvent::MessageStop));
    }

    #[tokio::test]
    async fn frames_split_across_chunks_still_decode() {
        let (a, b) = START.split_at(30);
        let out = run(vec![Ok(a), Ok(b), Ok(STOP)]).await;
        assert!(
            matches!(out[0], Ok(StreamEvent::MessageStart { .. })),
            "{out:?}"
        );
    }

    #[tokio::test]
    async fn early_end_and_transport_errors_are_stream_ended() {
        assert_eq!(
            run(vec![Ok(START)]).await.pop(),
            Some(Err(LlmError::StreamEnded))
        );
        assert_eq!(
            run(vec![Ok(START), Err("reset")]).await.pop(),
            Some(Err(LlmError::StreamEnded))
        );
    }

    #[tokio::test]
    async fn error_events_and_garbage_are_terminal_errors() {
        let error = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
        let out = run(vec![Ok(START), Ok(error), Ok(STOP)]).await;
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[1],
            Err(LlmError::Stream {
                kind: ApiErrorKind::Overloaded,
                message: "Overloaded".into()
            })
        );
        let out = run(vec![
            Ok(START),
            Ok("event: content_block_delta\ndata: {nope\n\n"),
            Ok(STOP),
        ])
        .await;
        assert!(
            matches!(out.as_slice(), [Ok(_), Err(LlmError::Decode(_))]),
            "{out:?}"
        );
    }

    #[tokio::test]
    async fn a_silent_stream_times_out() {
        let silent = futures::stream::pending::<Result<&'static str, &'static str>>();
        let mut events = decode(silent, Duration::from_millis(50));
        assert_eq!(
            events.next().await,
            Some(Err(LlmError::IdleTimeout(Duration::from_millis(50))))
        );
        assert_eq!(events.next().await, None);
    }
}
