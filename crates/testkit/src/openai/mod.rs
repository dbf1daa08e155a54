//! [`FakeOpenAi`]: a scripted OpenAI-compatible Chat Completions server,
//! the counterpart of [`FakeAnthropic`](crate::FakeAnthropic). It answers
//! from the same [`Turn`](crate::Turn)/[`Failure`] scripts
//! (thinking blocks are not sent: the protocol has none) and can reproduce
//! local servers' deviations with [`Quirk`]s, per turn or for every turn.

mod render;
mod script;
mod server;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::http::{self, FakeServer, RecordedRequest, Recorder};
use crate::model::{Script, Scripted};
use crate::script::Failure;
use crate::stream::FakeOptions;

pub use script::{OpenAiReply, Quirk, WithQuirks};

use server::{COMPLETIONS_PATH, router};
use state::OpenAiShared;

const NAME: &str = "OpenAI";

/// A fake OpenAI-compatible server on an ephemeral local port. Each
/// `POST /v1/chat/completions` consumes one pushed reply, first in first
/// out; requests without `Authorization: Bearer …` get a 401 (see
/// [`set_require_auth`](Self::set_require_auth)). The server stops when
/// this value is dropped.
pub struct FakeOpenAi {
    server: FakeServer,
    shared: Arc<OpenAiShared>,
}

impl FakeOpenAi {
    /// Starts on `127.0.0.1:0`. Panics if no port can be bound (test helper).
    pub async fn start() -> Self {
        Self::start_with(FakeOptions::default()).await
    }

    /// Like [`start`](Self::start), with options.
    pub async fn start_with(options: FakeOptions) -> Self {
        http::started(NAME, Self::bind(http::LOCAL, options).await)
    }

    /// Starts on `addr` (the standalone binary's entry point).
    pub async fn bind(addr: SocketAddr, options: FakeOptions) -> std::io::Result<Self> {
        let recorder = Arc::new(Recorder::default());
        let shared = Arc::new(OpenAiShared::new(Script::new(options, recorder.clone())));
        let server = FakeServer::bind(NAME, addr, recorder, |_| router(shared.clone())).await?;
        Ok(Self { server, shared })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT/v1`, to use as `OPENAI_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.origin())
    }

    /// Queues one reply: a [`Turn`](crate::Turn), a [`Failure`], or an
    /// [`OpenAiReply`] (`turn().text("x").quirk(Quirk::NoUsage)`).
    pub fn push(&self, reply: impl Into<OpenAiReply>) {
        self.shared.script.push([reply.into()]);
    }

    /// Queues the same failure `n` times.
    pub fn push_failures(&self, n: usize, failure: Failure) {
        self.shared
            .script
            .push(std::iter::repeat_n(OpenAiReply::from(failure), n));
    }

    /// The reply used once the queue is empty (instead of a 500).
    pub fn set_default(&self, reply: impl Into<OpenAiReply>) {
        self.shared.script.set_default(Some(reply.into()));
    }

    /// Quirks applied to every streamed turn, in addition to its own.
    pub fn set_quirks(&self, quirks: impl IntoIterator<Item = Quirk>) {
        self.shared.set_quirks(quirks.into_iter().collect());
    }

    /// Whether requests need `Authorization: Bearer …` (the default), as
    /// OpenAI does; local servers like Ollama do not.
    pub fn set_require_auth(&self, required: bool) {
        self.shared.set_require_auth(required);
    }

    /// Replies queued and not yet served.
    pub fn pending_replies(&self) -> usize {
        self.shared.script.pending()
    }

    /// Every request received (control endpoints excluded), in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }

    /// The bodies of `POST /v1/chat/completions` requests, in arrival order.
    pub fn message_requests(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == COMPLETIONS_PATH)
            .map(|r| r.body)
            .collect()
    }

    /// Waits until at least `n` requests arrived; panics after `timeout`.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<RecordedRequest> {
        self.server.wait_for_requests(n, timeout).await
    }

    /// Forgets replies, the default, quirks, recorded requests and id counters.
    pub fn reset(&self) {
        self.shared.reset();
    }
}

impl std::fmt::Debug for FakeOpenAi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeOpenAi")
            .field("addr", &self.addr())
            .finish_non_exhaustive()
    }
}
