//! The fake's memory: the reply queue, the default reply, every request it
//! saw, and the counters behind its deterministic ids.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;

use crate::script::Reply;

/// One request as the fake received it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Lowercased names; repeated headers joined with ", ".
    pub headers: BTreeMap<String, String>,
    /// The JSON body, `Null` when empty, a string when not JSON.
    pub body: Value,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub(crate) fn is_message_create(&self) -> bool {
        self.method == "POST" && self.path == "/v1/messages"
    }
}

/// Settings of a fake server.
#[derive(Clone, Debug, Default)]
pub struct FakeOptions {
    /// Sleep before every SSE event of turns without their own delay, to
    /// simulate token-by-token generation.
    pub token_delay: Option<Duration>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Reply>,
    default: Option<Reply>,
    requests: Vec<RecordedRequest>,
    tool_ids: u32,
    message_ids: u32,
    request_ids: u32,
}

pub(crate) struct Shared {
    state: Mutex<State>,
    /// The number of recorded requests, for waiting on arrivals.
    count: watch::Sender<usize>,
    pub options: FakeOptions,
}

impl Shared {
    pub fn new(options: FakeOptions) -> Self {
        Self {
            state: Mutex::new(State::default()),
            count: watch::Sender::new(0),
            options,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not take every later request down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores the request and returns its `request-id`.
    pub fn record(&self, request: RecordedRequest) -> String {
        let (id, count) = {
            let mut state = self.lock();
            state.requests.push(request);
            state.request_ids += 1;
            (
                format!("req_testkit_{:04}", state.request_ids),
                state.requests.len(),
            )
        };
        self.count.send_replace(count);
        id
    }

    pub fn next_reply(&self) -> Option<Reply> {
        let mut state = self.lock();
        state.queue.pop_front().or_else(|| state.default.clone())
    }

    pub fn next_tool_id(&self) -> String {
        let mut state = self.lock();
        state.tool_ids += 1;
        format!("toolu_{:02}", state.tool_ids)
    }

    pub fn next_message_id(&self) -> String {
        let mut state = self.lock();
        state.message_ids += 1;
        format!("msg_testkit_{:04}", state.message_ids)
    }

    pub fn push(&self, replies: impl IntoIterator<Item = Reply>) {
        self.lock().queue.extend(replies);
    }

    pub fn set_default(&self, reply: Option<Reply>) {
        self.lock().default = reply;
    }

    pub fn pending(&self) -> usize {
        self.lock().queue.len()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    pub fn reset(&self) {
        *self.lock() = State::default();
        self.count.send_replace(0);
    }

    /// Resolves once at least `n` requests were recorded, or after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let mut count = self.count.subscribe();
        tokio::time::timeout(timeout, count.wait_for(|c| *c >= n))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}
