//! [`FakeAnthropic`]: the scripted Messages API server tests start in-process.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinHandle;

use crate::script::{Failure, Reply};
use crate::server::router;
use crate::state::{FakeOptions, RecordedRequest, Shared};

/// A fake of the Anthropic Messages API on an ephemeral local port. Each
/// `POST /v1/messages` consumes one pushed reply, first in first out.
/// The server stops when this value is dropped.
pub struct FakeAnthropic {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl FakeAnthropic {
    /// Starts on `127.0.0.1:0`. Panics if no port can be bound (test helper).
    pub async fn start() -> Self {
        Self::start_with(FakeOptions::default()).await
    }

    /// Like [`start`](Self::start), with options.
    pub async fn start_with(options: FakeOptions) -> Self {
        match Self::bind(SocketAddr::from(([127, 0, 0, 1], 0)), options).await {
            Ok(fake) => fake,
            Err(err) => panic!("testkit: cannot bind the fake Anthropic server: {err}"),
        }
    }

    /// Starts on `addr` (the standalone binary's entry point).
    pub async fn bind(addr: SocketAddr, options: FakeOptions) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(options));
        let app = router(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(err) = axum::serve(crate::server::nodelay(listener), app).await {
                tracing::error!(error = %err, "testkit: fake Anthropic server stopped");
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

    /// `http://127.0.0.1:PORT`, to use as `ANTHROPIC_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues one reply: a [`Turn`](crate::Turn) or a [`Failure`].
    pub fn push(&self, reply: impl Into<Reply>) {
        self.shared.push([reply.into()]);
    }

    /// Queues the same failure `n` times.
    pub fn push_failures(&self, n: usize, failure: Failure) {
        self.shared
            .push(std::iter::repeat_n(Reply::Failure(failure), n));
    }

    /// The reply used once the queue is empty (instead of a 500).
    pub fn set_default(&self, reply: impl Into<Reply>) {
        self.shared.set_default(Some(reply.into()));
    }

    /// Replies queued and not yet served.
    pub fn pending_replies(&self) -> usize {
        self.shared.pending()
    }

    /// Every request received (control endpoints excluded), in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// The bodies of `POST /v1/messages` requests, in arrival order.
    pub fn message_requests(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.is_message_create())
            .map(|r| r.body)
            .collect()
    }

    /// Waits until at least `n` requests arrived; panics after `timeout`.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<RecordedRequest> {
        if !self.shared.wait_for(n, timeout).await {
            let seen = self.requests().len();
            panic!("testkit: expected {n} requests within {timeout:?}, got {seen}");
        }
        self.requests()
    }

    /// Forgets replies, the default, recorded requests and id counters.
    pub fn reset(&self) {
        self.shared.reset();
    }
}

impl Drop for FakeAnthropic {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl std::fmt::Debug for FakeAnthropic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeAnthropic")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}
