//! The OpenAI fake's memory. Request recording and waiting reuse the
//! Anthropic fake's [`Shared`]; the reply queue is its own, as its replies
//! carry quirks.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::openai::script::{OpenAiReply, Quirk};
use crate::state::{FakeOptions, Shared};

#[derive(Default)]
struct State {
    queue: VecDeque<OpenAiReply>,
    default: Option<OpenAiReply>,
    /// Applied to every turn, on top of the turn's own.
    quirks: Vec<Quirk>,
    tool_ids: u32,
    completion_ids: u32,
}

pub(crate) struct OpenAiShared {
    pub recorder: Shared,
    state: Mutex<State>,
    require_auth: AtomicBool,
}

impl OpenAiShared {
    pub fn new(options: FakeOptions) -> Self {
        Self {
            recorder: Shared::new(options),
            state: Mutex::new(State::default()),
            require_auth: AtomicBool::new(true),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not take every later request down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn push(&self, replies: impl IntoIterator<Item = OpenAiReply>) {
        self.lock().queue.extend(replies);
    }

    pub fn next_reply(&self) -> Option<OpenAiReply> {
        let mut state = self.lock();
        state.queue.pop_front().or_else(|| state.default.clone())
    }

    pub fn set_default(&self, reply: Option<OpenAiReply>) {
        self.lock().default = reply;
    }

    pub fn pending(&self) -> usize {
        self.lock().queue.len()
    }

    pub fn set_quirks(&self, quirks: Vec<Quirk>) {
        self.lock().quirks = quirks;
    }

    pub fn quirks(&self) -> Vec<Quirk> {
        self.lock().quirks.clone()
    }

    pub fn set_require_auth(&self, required: bool) {
        self.require_auth.store(required, Ordering::Relaxed);
    }

    pub fn require_auth(&self) -> bool {
        self.require_auth.load(Ordering::Relaxed)
    }

    /// `call_testkit_01`, `call_testkit_02`, … per fake.
    pub fn next_tool_id(&self) -> String {
        let mut state = self.lock();
        state.tool_ids += 1;
        format!("call_testkit_{:02}", state.tool_ids)
    }

    pub fn next_completion_id(&self) -> String {
        let mut state = self.lock();
        state.completion_ids += 1;
        format!("chatcmpl-testkit-{:04}", state.completion_ids)
    }

    /// Forgets replies, the default, quirks, recorded requests and counters.
    pub fn reset(&self) {
        *self.lock() = State::default();
        self.recorder.reset();
    }
}
