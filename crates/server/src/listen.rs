//! The accept loop, in place of `axum::serve`, which has no timeouts and
//! no connection limits: a socket that sends nothing, half a request line,
//! unfinished headers or headers without their body stayed open forever,
//! and 1,100 idle sockets used up the open-file limit so `/readyz` itself
//! could not be answered.
//!
//! - **Headers**: a request's line and headers must arrive within
//!   `header_timeout` (hyper's `header_read_timeout`). hyper starts that
//!   timer whenever it waits for a request head, so it is also the idle
//!   timeout of a keep-alive connection between requests. It never applies
//!   while a response streams (SSE) or after an upgrade (WebSocket).
//! - **Bodies**: each piece of a request body must arrive within
//!   `body_timeout` of the previous one; the handler then sees an error and
//!   the connection is closed. A gap, not a total, so a large upload on a
//!   slow link still works.
//! - **Connections**: at most `max_connections` open at once, and at most
//!   `max_pending_per_ip` per client address that have not yet sent a
//!   request head. Such a connection costs its opener nothing and proves
//!   nothing, so it is the one to sacrifice: when an address goes over its
//!   cap, or the server over its total, the *oldest* connection still
//!   waiting for its first request is closed, and the new one is served.
//!   A flood of silent sockets from one address thus churns through its
//!   own slots while a health check or a person from the same address
//!   still gets an answer. Only when every open connection is busy with a
//!   request is a new one refused. (Authentication happens per request,
//!   after the head, so "has sent a request" is the line we can draw at
//!   the socket.)
//!
//! HTTP/1.1 only (plus WebSocket upgrades): HTTP/2 without TLS needs a
//! client that speaks it by prior knowledge, which browsers never do, and
//! a TLS proxy in front terminates HTTP/2 anyway.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::metrics::Metrics;
use crate::state::AppState;

/// How long a client may take to send a request's line and headers, and
/// how long a keep-alive connection may sit idle.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest gap between two pieces of a request body.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Open connections at most (also held under the open-file limit).
pub const DEFAULT_MAX_CONNECTIONS: usize = 4_096;
/// Connections per client address that have not sent a request yet.
pub const DEFAULT_MAX_PENDING_PER_IP: usize = 256;
/// How long a new connection may stay silent before a cap may close it: a
/// real client sends its request at once, but a burst of them (a page
/// opening many streams, a proxy) can outrun the server's reading of their
/// heads, and closing one of those would fail a request that was on its way.
pub const DEFAULT_PENDING_GRACE: Duration = Duration::from_secs(2);
/// How long shutdown waits for requests, turns and streams to end.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
    pub max_pending_per_ip: usize,
    /// A silent connection younger than this is never closed by a cap.
    pub pending_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_pending_per_ip: DEFAULT_MAX_PENDING_PER_IP,
            pending_grace: DEFAULT_PENDING_GRACE,
        }
    }
}

/// Serves `state` on `listener` until `shutdown` resolves. Then: the
/// listener is closed at once (new connections are refused), idle
/// connections are closed, requests in flight may finish, running turns
/// are interrupted, event streams end, and after at most `shutdown_timeout`
/// this returns whatever is still running (the caller drops the runtime,
/// which ends it).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    shutdown_timeout: Duration,
) -> std::io::Result<()> {
    let router = crate::router(state.clone());
    let registry = Arc::new(Registry::new(limits, state.metrics.clone()));
    let graceful = CancellationToken::new();
    let connections = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors, or a connection reset while
                    // queued: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(ticket) = registry.admit(peer.ip()) else {
            // Every connection is busy with a request: refuse this one.
            drop(tcp);
            continue;
        };
        // Events are small frames written as they happen: without
        // TCP_NODELAY each can wait on Nagle's algorithm and the peer's
        // delayed ACK.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        connections.spawn(connection(
            tcp,
            peer,
            router.clone(),
            limits,
            ticket,
            graceful.clone(),
        ));
    }
    drop(listener);
    tracing::info!(
        connections = connections.len(),
        timeout_ms = shutdown_timeout.as_millis() as u64,
        "shutting down: no longer accepting; interrupting running turns"
    );
    let deadline = tokio::time::Instant::now() + shutdown_timeout;
    graceful.cancel();
    connections.close();
    let engine = async {
        state.manager.shutdown().await;
        // Turns have written their last events; end the streams, so their
        // connections close and clients reconnect to the next server.
        state.closing.cancel();
    };
    let finished = tokio::time::timeout_at(deadline, async {
        tokio::join!(engine, connections.wait());
    })
    .await;
    if finished.is_err() {
        state.closing.cancel();
        tracing::warn!(
            connections = connections.len(),
            "shutdown deadline passed; closing what is still open"
        );
    }
    Ok(())
}

async fn connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    ticket: Ticket,
    graceful: CancellationToken,
) {
    let evicted = ticket.evicted.clone();
    let ticket = Arc::new(ticket);
    let service = {
        let ticket = ticket.clone();
        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            ticket.served();
            let mut req = req.map(|body| {
                Body::new(tower_http::timeout::TimeoutBody::new(
                    limits.body_timeout,
                    body,
                ))
            });
            // Login throttling and the audit log read the client address.
            req.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(req)
        })
    };
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let conn = http
        .serve_connection(TokioIo::new(tcp), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            return;
        }
        () = evicted.cancelled() => return,
        () = graceful.cancelled() => conn.as_mut().graceful_shutdown(),
    }
    // Shutting down: an idle connection closes now, one with a request in
    // flight after its response; an evicted one at once.
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        }
        () = evicted.cancelled() => {}
    }
}

/// Who is connected, for the caps.
struct Registry {
    limits: ConnectionLimits,
    metrics: Arc<Metrics>,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    /// Every open connection: its address and how to close it.
    open: HashMap<u64, (IpAddr, CancellationToken)>,
    /// Connections that have not sent a request head yet, oldest first,
    /// with when they were accepted.
    pending: BTreeMap<u64, (IpAddr, Instant)>,
    pending_by_ip: HashMap<IpAddr, VecDeque<u64>>,
}

impl Inner {
    fn unpend(&mut self, id: u64) {
        if let Some((ip, _)) = self.pending.remove(&id)
            && let Some(ids) = self.pending_by_ip.get_mut(&ip)
        {
            ids.retain(|&other| other != id);
            if ids.is_empty() {
                self.pending_by_ip.remove(&ip);
            }
        }
    }

    fn evict(&mut self, id: u64) {
        self.unpend(id);
        if let Some((_, token)) = self.open.remove(&id) {
            token.cancel();
        }
    }
}

/// A connection's place in the registry; leaving it (drop) frees the slot.
struct Ticket {
    registry: Arc<Registry>,
    id: u64,
    evicted: CancellationToken,
}

impl Ticket {
    /// A request head arrived: the connection is no longer a candidate
    /// for eviction.
    fn served(&self) {
        self.registry.lock().unpend(self.id);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut inner = self.registry.lock();
        inner.unpend(self.id);
        inner.open.remove(&self.id);
        self.registry
            .metrics
            .connections
            .set(inner.open.len() as i64);
    }
}

impl Registry {
    fn new(limits: ConnectionLimits, metrics: Arc<Metrics>) -> Self {
        Self {
            limits,
            metrics,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for a new connection from `ip`, evicting the oldest
    /// connection still waiting for its first request when a cap is
    /// reached; `None` when every open connection is busy.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Ticket> {
        let mut inner = self.lock();
        let cap = self.limits.max_pending_per_ip.max(1);
        let now = Instant::now();
        let grace = self.limits.pending_grace;
        let past_grace = |inner: &Inner, id: u64| {
            inner
                .pending
                .get(&id)
                .is_some_and(|(_, at)| now - *at >= grace)
        };
        while inner.pending_by_ip.get(&ip).map_or(0, VecDeque::len) >= cap {
            let Some(oldest) = inner
                .pending_by_ip
                .get(&ip)
                .and_then(|ids| ids.front().copied())
                .filter(|&id| past_grace(&inner, id))
            else {
                // All still within their grace: served over the cap.
                break;
            };
            inner.evict(oldest);
            self.metrics.connections_dropped("idle_per_address");
        }
        if inner.open.len() >= self.limits.max_connections.max(1) {
            match inner
                .pending
                .first_key_value()
                .map(|(&id, _)| id)
                .filter(|&id| past_grace(&inner, id))
            {
                Some(oldest) => {
                    inner.evict(oldest);
                    self.metrics.connections_dropped("idle_over_total");
                }
                None => {
                    self.metrics.connections_dropped("refused_all_busy");
                    return None;
                }
            }
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let evicted = CancellationToken::new();
        inner.open.insert(id, (ip, evicted.clone()));
        inner.pending.insert(id, (ip, now));
        inner.pending_by_ip.entry(ip).or_default().push_back(id);
        self.metrics.connections.set(inner.open.len() as i64);
        Some(Ticket {
            registry: self.clone(),
            id,
            evicted,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn registry(total: usize, per_ip: usize) -> Arc<Registry> {
        Arc::new(Registry::new(
            ConnectionLimits {
                max_connections: total,
                max_pending_per_ip: per_ip,
                pending_grace: Duration::ZERO,
                ..ConnectionLimits::default()
            },
            Arc::new(Metrics::new()),
        ))
    }

    #[test]
    fn an_address_over_its_cap_loses_its_oldest_silent_connection() {
        let reg = registry(100, 2);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let a = reg.admit(ip).unwrap();
        let b = reg.admit(ip).unwrap();
        let c = reg.admit(other).unwrap();
        let d = reg.admit(ip).unwrap();
        assert!(a.evicted.is_cancelled(), "the oldest of the address goes");
        assert!(!b.evicted.is_cancelled());
        assert!(!c.evicted.is_cancelled(), "other addresses are untouched");
        // A connection that sent a request is never evicted for silence.
        b.served();
        d.served();
        let e = reg.admit(ip).unwrap();
        let f = reg.admit(ip).unwrap();
        assert!(!b.evicted.is_cancelled() && !d.evicted.is_cancelled());
        assert!(!e.evicted.is_cancelled() && !f.evicted.is_cancelled());
        drop(a);
        assert_eq!(reg.lock().open.len(), 5);
    }

    #[test]
    fn over_the_total_a_silent_connection_goes_else_the_new_one_is_refused() {
        let reg = registry(2, 10);
        let a = reg.admit("10.0.0.1".parse().unwrap()).unwrap();
        let b = reg.admit("10.0.0.2".parse().unwrap()).unwrap();
        b.served();
        let c = reg.admit("10.0.0.3".parse().unwrap()).unwrap();
        assert!(a.evicted.is_cancelled());
        c.served();
        assert!(reg.admit("10.0.0.4".parse().unwrap()).is_none());
        drop(c);
        assert!(reg.admit("10.0.0.4".parse().unwrap()).is_some());
    }

    #[test]
    fn a_silent_connection_within_its_grace_is_not_closed_by_the_cap() {
        let reg = Arc::new(Registry::new(
            ConnectionLimits {
                max_connections: 100,
                max_pending_per_ip: 1,
                pending_grace: Duration::from_secs(3600),
                ..ConnectionLimits::default()
            },
            Arc::new(Metrics::new()),
        ));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let a = reg.admit(ip).unwrap();
        let b = reg.admit(ip).unwrap();
        assert!(!a.evicted.is_cancelled() && !b.evicted.is_cancelled());
    }
}
