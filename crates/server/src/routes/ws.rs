//! `GET /api/v1/ws`: one WebSocket per client, subscribing to many sessions.
//! Client → server: `subscribe {session_id, after}`, `unsubscribe`, `ping`.
//! Server → client: `subscribed`, `event {event}`, `lagged`, `unsubscribed`,
//! `error`, `pong`.

use std::collections::HashMap;

use agentd_core::SessionManager;
use agentd_protocol::{ErrorCode, SessionId, WsClientMessage, WsServerMessage};
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::follow::{self, Item, follow};
use crate::metrics::StreamGuard;
use crate::state::AppState;

/// Largest message a client may send.
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// Frames queued for a client before its subscriptions start lagging.
const OUTBOX: usize = 1_024;
const MAX_SUBSCRIPTIONS: usize = 1_000;

/// Subscribe to many sessions' events over one connection.
/// Each `subscribe` is checked against the caller: a session that is not
/// theirs (for a member) is answered like a missing one.
#[utoipa::path(get, path = "/api/v1/ws", tag = "events",
    params(("ticket" = Option<String>, Query, description = "A single-use ticket from POST /api/v1/auth/ticket, for browsers")),
    responses(
        (status = 101, description = "WebSocket upgrade; see the WsClientMessage and WsServerMessage schemas"),
        (status = 400, description = "Not a WebSocket handshake (missing or wrong Connection, Upgrade, Sec-WebSocket-* headers)", body = agentd_protocol::ErrorBody),
        (status = 426, description = "The connection cannot be upgraded (e.g. HTTP/2 without extended CONNECT)", body = agentd_protocol::ErrorBody),
    ))]
pub(crate) async fn ws(
    State(state): State<AppState>,
    caller: Caller,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    // axum's rejection is plain text; the API answers in its one envelope.
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            let status = match rejection.status() {
                StatusCode::UPGRADE_REQUIRED => StatusCode::UPGRADE_REQUIRED,
                StatusCode::METHOD_NOT_ALLOWED => StatusCode::METHOD_NOT_ALLOWED,
                _ => StatusCode::BAD_REQUEST,
            };
            return ApiError::new(status, ErrorCode::BadRequest, rejection.body_text())
                .into_response();
        }
    };
    upgrade
        .max_message_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| connection(state, caller, socket))
}

async fn connection(state: AppState, caller: Caller, socket: WebSocket) {
    let _guard = StreamGuard::new(state.metrics.clone());
    let (mut sink, mut stream) = socket.split();
    let (out, mut outbox) = mpsc::channel::<Utf8Bytes>(OUTBOX);
    let closing = state.closing.clone();
    let writer = tokio::spawn(async move {
        let mut ping = tokio::time::interval(crate::KEEPALIVE);
        ping.tick().await;
        let mut frames = Vec::with_capacity(follow::BATCH);
        loop {
            tokio::select! {
                n = outbox.recv_many(&mut frames, follow::BATCH) => {
                    if n == 0 || write_batch(&mut sink, &mut frames).await.is_err() {
                        return;
                    }
                }
                _ = ping.tick() => if sink.send(Message::Ping(Default::default())).await.is_err() { return },
                // The server is stopping: "going away", so the client
                // reconnects (to the next server) and resumes by `seq`.
                () = closing.cancelled() => {
                    let frame = axum::extract::ws::CloseFrame {
                        code: 1001,
                        reason: "the server is shutting down".into(),
                    };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    return;
                }
            }
        }
    });
    let mut subscriptions: HashMap<SessionId, JoinHandle<()>> = HashMap::new();
    loop {
        let message = tokio::select! {
            message = stream.next() => message,
            () = state.closing.cancelled() => None,
        };
        let Some(Ok(message)) = message else { break };
        let text = match message {
            Message::Text(text) => text,
            Message::Close(_) => break,
            Message::Binary(_) => {
                send(&out, &error(ErrorCode::BadRequest, "send JSON text frames")).await;
                continue;
            }
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        subscriptions.retain(|_, task| !task.is_finished());
        match serde_json::from_str::<WsClientMessage>(text.as_str()) {
            Ok(WsClientMessage::Subscribe { session_id, after }) => {
                if subscriptions.len() >= MAX_SUBSCRIPTIONS {
                    send(
                        &out,
                        &error(
                            ErrorCode::BadRequest,
                            "too many subscriptions on one connection",
                        ),
                    )
                    .await;
                } else if state
                    .manager
                    .session_within(session_id, caller.reach())
                    .await
                    .is_err()
                {
                    send(
                        &out,
                        &error(
                            ErrorCode::NotFound,
                            &format!("session {session_id} not found"),
                        ),
                    )
                    .await;
                } else {
                    if let Some(old) = subscriptions.remove(&session_id) {
                        old.abort();
                    }
                    send(&out, &WsServerMessage::Subscribed { session_id, after }).await;
                    let task = tokio::spawn(forward(
                        state.manager.clone(),
                        session_id,
                        after,
                        out.clone(),
                    ));
                    subscriptions.insert(session_id, task);
                }
            }
            Ok(WsClientMessage::Approve {
                session_id,
                request_id,
                decision,
                message,
            }) => {
                let reply = match approve(
                    &state,
                    &caller,
                    session_id,
                    &request_id,
                    decision,
                    message,
                )
                .await
                {
                    Ok(()) => WsServerMessage::Approved {
                        session_id,
                        request_id,
                    },
                    Err(e) => error(e.code(), &e.to_string()),
                };
                send(&out, &reply).await;
            }
            Ok(WsClientMessage::Unsubscribe { session_id }) => {
                if let Some(task) = subscriptions.remove(&session_id) {
                    task.abort();
                }
                let reason = "requested".to_owned();
                send(&out, &WsServerMessage::Unsubscribed { session_id, reason }).await;
            }
            Ok(WsClientMessage::Ping) => send(&out, &WsServerMessage::Pong).await,
            Err(e) => {
                send(
                    &out,
                    &error(ErrorCode::InvalidJson, &format!("unreadable message: {e}")),
                )
                .await;
            }
        }
    }
    for task in subscriptions.into_values() {
        task.abort();
    }
    drop(out);
    let _ = writer.await;
}

/// An answer to an approval request, checked like the REST route: the
/// caller must reach the session and hold a write-scoped credential.
async fn approve(
    state: &AppState,
    caller: &crate::auth::Caller,
    session_id: SessionId,
    request_id: &str,
    decision: agentd_protocol::event::ApprovalDecision,
    message: Option<String>,
) -> Result<(), agentd_core::CoreError> {
    if !caller.scope.allows(agentd_protocol::Scope::Write) {
        return Err(agentd_core::CoreError::Forbidden(
            "answering approvals needs a write-scoped token".into(),
        ));
    }
    state
        .manager
        .session_within(session_id, caller.reach())
        .await?;
    state
        .manager
        .answer_approval(
            session_id,
            request_id,
            decision,
            message,
            caller.user_id.clone(),
        )
        .await
}

/// One subscription: the session's events into the connection's outbox.
async fn forward(manager: SessionManager, id: SessionId, after: u64, out: mpsc::Sender<Utf8Bytes>) {
    let (tx, mut rx) = mpsc::channel(256);
    let follower = tokio::spawn(follow(manager, id, after, tx));
    let mut items = Vec::with_capacity(follow::BATCH);
    'batches: while rx.recv_many(&mut items, follow::BATCH).await > 0 {
        for item in items.drain(..) {
            if !forward_one(&out, id, item).await {
                break 'batches;
            }
        }
    }
    follower.abort();
}

/// Queues one item for the client; false once the subscription is over.
async fn forward_one(out: &mpsc::Sender<Utf8Bytes>, id: SessionId, item: Item) -> bool {
    let frame = match item {
        // Splice the pre-serialised envelope instead of re-encoding it.
        Item::Event(event) => format!("{{\"type\":\"event\",\"event\":{}}}", event.json),
        Item::Lagged { last_seq } => {
            send(
                out,
                &WsServerMessage::Lagged {
                    session_id: id,
                    last_seq,
                },
            )
            .await;
            return false;
        }
    };
    out.send(frame.into()).await.is_ok()
}

/// Writes the queued frames with one flush: tungstenite buffers fed frames,
/// so a batch goes out in as few socket writes as its size allows.
async fn write_batch<E>(
    sink: &mut (impl futures::Sink<Message, Error = E> + Unpin),
    frames: &mut Vec<Utf8Bytes>,
) -> Result<(), E> {
    for text in frames.drain(..) {
        sink.feed(Message::Text(text)).await?;
    }
    sink.flush().await
}

fn error(code: ErrorCode, message: &str) -> WsServerMessage {
    WsServerMessage::Error {
        code,
        message: message.to_owned(),
    }
}

async fn send(out: &mpsc::Sender<Utf8Bytes>, message: &WsServerMessage) {
    if let Ok(text) = serde_json::to_string(message) {
        let _ = out.send(text.into()).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::*;

    /// Records what reaches the socket: frames fed and flushes.
    #[derive(Default)]
    struct Recorder {
        frames: Vec<String>,
        flushes: usize,
    }

    impl futures::Sink<Message> for Recorder {
        type Error = Infallible;
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }
        fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), Infallible> {
            if let Message::Text(text) = item {
                self.frames.push(text.to_string());
            }
            Ok(())
        }
        fn poll_flush(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Result<(), Infallible>> {
            self.flushes += 1;
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_batch_of_frames_is_flushed_once_in_order() {
        let mut sink = Recorder::default();
        let mut frames: Vec<Utf8Bytes> = vec!["a".into(), "b".into(), "c".into()];
        write_batch(&mut sink, &mut frames).await.unwrap();
        assert_eq!(sink.frames, ["a", "b", "c"]);
        assert_eq!(sink.flushes, 1, "one flush (one socket write) per batch");
        assert!(frames.is_empty(), "the batch buffer is reused empty");
    }
}
