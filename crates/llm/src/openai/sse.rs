//! Reads a Chat Completions SSE body (`data: {chunk}` … `data: [DONE]`)
//! into Anthropic-shaped [`StreamEvent`]s, with an idle timeout on every
//! read. The stream ends after `message_stop` or its first error.

use std::collections::VecDeque;
use std::time::Duration;

use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures::{Stream, StreamExt};

use crate::client::EventStream;
use crate::error::LlmError;
use crate::openai::translate::Translator;
use crate::openai::wire::Chunk;
use crate::stream::StreamEvent;

const DONE: &str = "[DONE]";

struct State<S> {
    frames: S,
    translator: Translator,
    /// Events decoded but not yet yielded (one chunk may imply several).
    ready: VecDeque<StreamEvent>,
    /// No more frames will be read: `[DONE]` came or the body ended.
    drained: bool,
    /// The stream has yielded its last item.
    finished: bool,
}

/// Decodes `bytes`; `request_model` names the message if chunks do not.
pub fn decode<S, B, E>(bytes: S, request_model: String, idle_timeout: Duration) -> EventStream
where
    S: Stream<Item = Result<B, E>> + Send + 'static,
    B: AsRef<[u8]> + Send,
    E: std::fmt::Display + Send,
{
    let state = State {
        frames: Box::pin(bytes.eventsource()),
        translator: Translator::new(request_model),
        ready: VecDeque::new(),
        drained: false,
        finished: false,
    };
    Box::pin(futures::stream::unfold(
        state,
        move |mut state| async move {
            if state.finished {
                return None;
            }
            let item = next_event(&mut state, idle_timeout).await;
            state.finished = match &item {
                Ok(StreamEvent::MessageStop) | Err(_) => true,
                Ok(_) => false,
            };
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
        if let Some(event) = state.ready.pop_front() {
            return Ok(event);
        }
        if state.drained {
            // Unreachable in practice: draining always queues message_stop.
            return Err(LlmError::StreamEnded);
        }
        let mut out = Vec::new();
        let next = tokio::time::timeout(idle_timeout, state.frames.next())
            .await
            .map_err(|_| LlmError::IdleTimeout(idle_timeout))?;
        match next {
            None => {
                state.drained = true;
                state.translator.end_of_body(&mut out)?;
            }
            Some(Err(EventStreamError::Transport(err))) => {
                // A reset or truncated body mid-stream: the stream closed early.
                tracing::debug!(error = %err, "model stream transport error");
                return Err(LlmError::StreamEnded);
            }
            Some(Err(err @ (EventStreamError::Utf8(_) | EventStreamError::Parser(_)))) => {
                return Err(LlmError::Decode(format!("bad SSE frame: {err}")));
            }
            Some(Ok(frame)) => {
                let data = frame.data.trim();
                if data.is_empty() {
                    continue;
                }
                if data == DONE {
                    state.drained = true;
                    state.translator.done(&mut out);
                } else {
                    let chunk = serde_json::from_str::<Chunk>(data)
                        .map_err(|e| LlmError::Decode(format!("bad chunk: {e}")))?;
                    state.translator.chunk(chunk, &mut out)?;
                }
            }
        }
        state.ready.extend(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accumulator::collect;
    use crate::messages::ContentBlock;

    const TEXT: &str = "data: {\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":null}]}\n\n";
    const FINISH: &str = "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
    const DONE_FRAME: &str = "data: [DONE]\n\n";

    fn events(chunks: Vec<Result<&'static str, &'static str>>) -> EventStream {
        decode(
            futures::stream::iter(chunks),
            "m".into(),
            Duration::from_secs(1),
        )
    }

    #[tokio::test]
    async fn done_ends_the_message_and_nothing_after_it_is_read() {
        let message = collect(events(vec![
            Ok(TEXT),
            Ok(": keep-alive\n\n"),
            Ok(FINISH),
            Ok(DONE_FRAME),
            Ok(TEXT),
        ]))
        .await
        .unwrap();
        assert_eq!(message.content, vec![ContentBlock::text("hi")]);
        assert_eq!(message.id, "c1");
    }

    #[tokio::test]
    async fn frames_split_across_reads_and_crlf_still_decode() {
        let (a, b) = TEXT.split_at(25);
        let crlf = "data: {\"choices\":[{\"delta\":{\"content\":\"!\"}}]}\r\n\r\n";
        let message = collect(events(vec![
            Ok(a),
            Ok(b),
            Ok(crlf),
            Ok(FINISH),
            Ok(DONE_FRAME),
        ]))
        .await
        .unwrap();
        assert_eq!(message.content, vec![ContentBlock::text("hi!")]);
    }

    #[tokio::test]
    async fn early_ends_and_resets_are_stream_ended() {
        assert_eq!(
            collect(events(vec![Ok(TEXT)])).await,
            Err(LlmError::StreamEnded)
        );
        assert_eq!(
            collect(events(vec![Ok(TEXT), Err("reset")])).await,
            Err(LlmError::StreamEnded)
        );
    }

    #[tokio::test]
    async fn garbage_is_a_decode_error() {
        let err = collect(events(vec![Ok(TEXT), Ok("data: {nope\n\n")])).await;
        assert!(matches!(err, Err(LlmError::Decode(_))), "{err:?}");
    }

    #[tokio::test]
    async fn a_silent_stream_times_out_once() {
        let silent = futures::stream::pending::<Result<&'static str, &'static str>>();
        let mut events = decode(silent, "m".into(), Duration::from_millis(50));
        assert_eq!(
            events.next().await,
            Some(Err(LlmError::IdleTimeout(Duration::from_millis(50))))
        );
        assert_eq!(events.next().await, None);
    }
}
