//! One model request, streamed: deltas become events as they arrive, the
//! accumulated message is the result. A stream that breaks after it started
//! is retried here (the client already retried the initial response), and
//! since tools only run on a complete message, none runs twice.

use agentd_llm::{
    AssistantMessage, Delta, LlmError, MessageAccumulator, ModelRequest, StreamEvent,
};
use agentd_protocol::EventData;
use agentd_protocol::event::{
    Delta as DeltaEvent, ErrorEvent, MessageCompleted, MessageStarted, Role,
};
use agentd_protocol::ids::prefixed_id;
use futures::StreamExt;

use crate::turn::Turn;

pub(crate) enum SampleOutcome {
    Done(AssistantMessage),
    Cancelled,
    Failed(LlmError),
}

pub(crate) async fn sample(turn: &Turn, request: &ModelRequest) -> SampleOutcome {
    let policy = &turn.kit.stream_retry;
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        match sample_once(turn, request).await {
            Attempt::Done(message) => return SampleOutcome::Done(message),
            Attempt::Cancelled => return SampleOutcome::Cancelled,
            Attempt::Failed {
                error,
                streamed: false,
            } => return SampleOutcome::Failed(error),
            Attempt::Failed {
                error,
                streamed: true,
            } => {
                if !error.is_retryable() || attempt >= policy.max_attempts {
                    return SampleOutcome::Failed(error);
                }
                // The partial message is void; clients drop it on this event.
                turn.emit(EventData::Error(ErrorEvent {
                    code: error.code(),
                    message: format!("{error}; retrying the model request"),
                    retryable: true,
                }))
                .await;
                let delay = policy.delay(attempt - 1, error.retry_after());
                tokio::select! {
                    _ = turn.cancel.cancelled() => return SampleOutcome::Cancelled,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

enum Attempt {
    Done(AssistantMessage),
    Cancelled,
    /// `streamed`: the failure came after the stream opened.
    Failed {
        error: LlmError,
        streamed: bool,
    },
}

async fn sample_once(turn: &Turn, request: &ModelRequest) -> Attempt {
    let model = &turn.kit.model;
    let opened = tokio::select! {
        _ = turn.cancel.cancelled() => return Attempt::Cancelled,
        opened = model.stream(request) => opened,
    };
    let mut stream = match opened {
        Ok(stream) => stream,
        Err(error) => {
            return Attempt::Failed {
                error,
                streamed: false,
            };
        }
    };
    let message_id = prefixed_id("msg");
    turn.emit(EventData::MessageStarted(MessageStarted {
        message_id: message_id.clone(),
        role: Role::Assistant,
    }))
    .await;
    let mut acc = MessageAccumulator::new();
    loop {
        let item = tokio::select! {
            _ = turn.cancel.cancelled() => return Attempt::Cancelled,
            item = stream.next() => item,
        };
        let event = match item {
            None => break,
            Some(Ok(event)) => event,
            Some(Err(error)) => {
                return Attempt::Failed {
                    error,
                    streamed: true,
                };
            }
        };
        if let Some(delta) = delta_event(&message_id, &event) {
            turn.emit(delta).await;
        }
        if let Err(error) = acc.push(&event) {
            return Attempt::Failed {
                error,
                streamed: true,
            };
        }
    }
    match acc.finish() {
        Ok(message) => {
            let content = message
                .content
                .iter()
                .map(|b| serde_json::to_value(b).unwrap_or_default())
                .collect();
            turn.emit(EventData::MessageCompleted(MessageCompleted {
                message_id,
                role: Role::Assistant,
                content,
            }))
            .await;
            Attempt::Done(message)
        }
        Err(error) => Attempt::Failed {
            error,
            streamed: true,
        },
    }
}

fn delta_event(message_id: &str, event: &StreamEvent) -> Option<EventData> {
    let StreamEvent::ContentBlockDelta { delta, .. } = event else {
        return None;
    };
    let make = |text: &str| DeltaEvent {
        message_id: message_id.to_owned(),
        text: text.to_owned(),
    };
    match delta {
        Delta::TextDelta { text } => Some(EventData::TextDelta(make(text))),
        Delta::ThinkingDelta { thinking } => Some(EventData::ThinkingDelta(make(thinking))),
        _ => None,
    }
}
