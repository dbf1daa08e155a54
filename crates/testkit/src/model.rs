//! What the two model fakes (Anthropic, OpenAI) share: the [`Script`] of
//! replies they serve, with their id counters and options, and the
//! `/__testkit/*` endpoints that script a fake over HTTP (how the
//! standalone `agentd-testkit` process is driven).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::http::{RecordedRequest, Recorder, insert_headers};
use crate::script::Failure;
use crate::stream::FakeOptions;

/// A model fake's replies (`R`: the fake's reply type), served first in
/// first out, then the default; and the counters behind its ids.
pub(crate) struct Script<R> {
    state: Mutex<ScriptState<R>>,
    /// The fake's recorded requests, forgotten on reset.
    pub recorder: Arc<Recorder>,
    pub options: FakeOptions,
}

struct ScriptState<R> {
    queue: VecDeque<R>,
    default: Option<R>,
    tool_ids: u32,
    message_ids: u32,
}

impl<R> Default for ScriptState<R> {
    fn default() -> Self {
        Self {
            queue: VecDeque::new(),
            default: None,
            tool_ids: 0,
            message_ids: 0,
        }
    }
}

impl<R: Clone> Script<R> {
    pub fn new(options: FakeOptions, recorder: Arc<Recorder>) -> Self {
        Self {
            state: Mutex::new(ScriptState::default()),
            recorder,
            options,
        }
    }

    fn lock(&self) -> MutexGuard<'_, ScriptState<R>> {
        // A panicking test thread must not take every later request down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn push(&self, replies: impl IntoIterator<Item = R>) {
        self.lock().queue.extend(replies);
    }

    pub fn next_reply(&self) -> Option<R> {
        let mut state = self.lock();
        state.queue.pop_front().or_else(|| state.default.clone())
    }

    pub fn set_default(&self, reply: Option<R>) {
        self.lock().default = reply;
    }

    pub fn pending(&self) -> usize {
        self.lock().queue.len()
    }

    /// 1, 2, … since the last reset: the number in the next generated tool id.
    pub fn next_tool_number(&self) -> u32 {
        let mut state = self.lock();
        state.tool_ids += 1;
        state.tool_ids
    }

    /// 1, 2, … since the last reset: the number in the next message id.
    pub fn next_message_number(&self) -> u32 {
        let mut state = self.lock();
        state.message_ids += 1;
        state.message_ids
    }

    /// Forgets replies, the default, id counters and recorded requests.
    pub fn reset(&self) {
        *self.lock() = ScriptState::default();
        self.recorder.reset();
    }
}

/// A scripted failure as an answer: its status, the API's error `body`,
/// the `headers` the API sends with everything, then the failure's own.
pub(crate) fn failure_response(failure: &Failure, body: Value, headers: HeaderMap) -> Response {
    let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(body)).into_response();
    let response_headers = response.headers_mut();
    response_headers.extend(headers);
    insert_headers(response_headers, &failure.headers);
    response
}

/// A model fake's state, as its control endpoints reach it.
pub(crate) trait Scripted: Send + Sync + 'static {
    type Reply: DeserializeOwned + Clone + Send + 'static;

    fn script(&self) -> &Script<Self::Reply>;

    /// Forgets everything the fake was told and everything it saw.
    fn reset(&self) {
        self.script().reset();
    }
}

/// `POST /__testkit/replies` (queue replies), `POST /__testkit/default`
/// (the reply once the queue is empty), `GET /__testkit/requests` (what
/// was recorded) and `POST /__testkit/reset`, to merge into a fake's router.
pub(crate) fn control_routes<M: Scripted, S>(fake: Arc<M>) -> Router<S> {
    Router::new()
        .route("/__testkit/replies", post(push_replies::<M>))
        .route("/__testkit/default", post(set_default::<M>))
        .route("/__testkit/requests", get(list_requests::<M>))
        .route("/__testkit/reset", post(reset::<M>))
        .with_state(fake)
}

async fn push_replies<M: Scripted>(
    State(fake): State<Arc<M>>,
    Json(replies): Json<Vec<M::Reply>>,
) -> Json<Value> {
    let count = replies.len();
    fake.script().push(replies);
    Json(json!({"queued": count, "pending": fake.script().pending()}))
}

async fn set_default<M: Scripted>(
    State(fake): State<Arc<M>>,
    Json(reply): Json<M::Reply>,
) -> StatusCode {
    fake.script().set_default(Some(reply));
    StatusCode::NO_CONTENT
}

async fn list_requests<M: Scripted>(State(fake): State<Arc<M>>) -> Json<Vec<RecordedRequest>> {
    Json(fake.script().recorder.requests())
}

async fn reset<M: Scripted>(State(fake): State<Arc<M>>) -> StatusCode {
    fake.reset();
    StatusCode::NO_CONTENT
}
