//! [`FakeOpenAi`]: a scripted OpenAI-compatible Chat Completions server,
//! the counterpart of [`FakeAnthropic`](crate::FakeAnthropic). It answers
//! from the same [`Turn`](crate::Turn)/[`Failure`](crate::Failure) scripts
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
use tokio::task::JoinHandle;

use crate::script::Failure;
use crate::state::{FakeOptions, RecordedRequest};

pub use script::{OpenAiReply, Quirk, WithQuirks};

use server::{COMPLETIONS_PATH, router};
use state::OpenAiShared;

/// A fake OpenAI-compatible server on an ephemeral local port. Each
/// `POST /v1/chat/completions` consumes one pushed reply, first in first
/// out; requests without `Authorization: Bearer …` get a 401 (see
/// [`set_require_auth`](Self::set_require_auth)). The server stops when
/// this value is dropped.
pub struct FakeOpenAi {
    addr: SocketAddr,
    shared: Arc<OpenAiShared>,
    server: JoinHandle<()>,
}

impl FakeOpenAi {
    /// Starts on `127.0.0.1:0`. Panics if no port can be bound (test helper).
    pub async fn start() -> Self {
        Self::start_with(FakeOptions::default()).await
    }

    /// Like [`start`](Self::start), with options.
    pub async fn start_with(options: FakeOptions) -> Self {
        match Self::bind(SocketAddr::from(([127, 0, 0, 1], 0)), options).await {
            Ok(fake) => fake,
            Err(err) => panic!("testkit: cannot bind the fake OpenAI server: {err}"),
        }
    }

    /// Starts on `addr` (the standalone binary's entry point).
    pub async fn bind(addr: SocketAddr, options: FakeOptions) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(OpenAiShared::new(options));
        let app = router(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(err) = axum::serve(crate::server::nodelay(listener), app).await {
                tracing::error!(error = %err, "testkit: fake OpenAI server stopped");
            }
        });
        Ok(Self {
            addr,
            shared,
            server,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/v1`, to use as `OPENAI_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queues one reply: a [`Turn`](crate::Turn), a [`Failure`], or an
    /// [`OpenAiReply`] (`turn().text("x").quirk(Quirk::NoUsage)`).
    pub fn push(&self, reply: impl Into<OpenAiReply>) {
        self.shared.push([reply.into()]);
    }

    /// Queues the same failure `n` times.
    pub fn push_failures(&self, n: usize, failure: Failure) {
        self.shared
            .push(std::iter::repeat_n(OpenAiReply::from(failure), n));
    }

    /// The reply used once the queue is empty (instead of a 500).
    pub fn set_default(&self, reply: impl Into<OpenAiReply>) {
        self.shared.set_default(Some(reply.into()));
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
        self.shared.pending()
    }

    /// Every request received (control endpoints excluded), in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.recorder.requests()
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
        if !self.shared.recorder.wait_for(n, timeout).await {
            let seen = self.requests().len();
            panic!("testkit: expected {n} requests within {timeout:?}, got {seen}");
        }
        self.requests()
    }

    /// Forgets replies, the default, quirks, recorded requests and id counters.
    pub fn reset(&self) {
        self.shared.reset();
    }
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl std::fmt::Debug for FakeOpenAi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeOpenAi")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}
