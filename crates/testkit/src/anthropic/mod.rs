//! [`FakeAnthropic`]: the scripted Messages API server tests start in-process.

mod render;
mod server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::http::{self, FakeServer, RecordedRequest, Recorder};
use crate::model::Script;
use crate::script::{Failure, Reply};
use crate::stream::FakeOptions;

use server::{MESSAGES_PATH, router};

const NAME: &str = "Anthropic";

/// A fake of the Anthropic Messages API on an ephemeral local port. Each
/// `POST /v1/messages` consumes one pushed reply, first in first out.
/// The server stops when this value is dropped.
pub struct FakeAnthropic {
    server: FakeServer,
    script: Arc<Script<Reply>>,
}

impl FakeAnthropic {
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
        let script = Arc::new(Script::new(options, recorder.clone()));
        let server = FakeServer::bind(NAME, addr, recorder, |_| router(script.clone())).await?;
        Ok(Self { server, script })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT`, to use as `ANTHROPIC_BASE_URL`.
    pub fn base_url(&self) -> String {
        self.server.origin()
    }

    /// Queues one reply: a [`Turn`](crate::Turn) or a [`Failure`].
    pub fn push(&self, reply: impl Into<Reply>) {
        self.script.push([reply.into()]);
    }

    /// Queues the same failure `n` times.
    pub fn push_failures(&self, n: usize, failure: Failure) {
        self.script
            .push(std::iter::repeat_n(Reply::Failure(failure), n));
    }

    /// The reply used once the queue is empty (instead of a 500).
    pub fn set_default(&self, reply: impl Into<Reply>) {
        self.script.set_default(Some(reply.into()));
    }

    /// Replies queued and not yet served.
    pub fn pending_replies(&self) -> usize {
        self.script.pending()
    }

    /// Every request received (control endpoints excluded), in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }

    /// The bodies of `POST /v1/messages` requests, in arrival order.
    pub fn message_requests(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == MESSAGES_PATH)
            .map(|r| r.body)
            .collect()
    }

    /// Waits until at least `n` requests arrived; panics after `timeout`.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<RecordedRequest> {
        self.server.wait_for_requests(n, timeout).await
    }

    /// Forgets replies, the default, recorded requests and id counters.
    pub fn reset(&self) {
        self.script.reset();
    }
}

impl std::fmt::Debug for FakeAnthropic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeAnthropic")
            .field("addr", &self.addr())
            .finish_non_exhaustive()
    }
}
