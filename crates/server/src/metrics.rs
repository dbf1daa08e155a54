//! Prometheus metrics. A registry per server (not a global recorder), so
//! several servers can live in one test process.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

pub struct Metrics {
    registry: Registry,
    http_requests: Family<Labels, Counter>,
    pub(crate) event_streams: Gauge<i64, AtomicI64>,
    pub(crate) connections: Gauge<i64, AtomicI64>,
    connections_dropped: Family<Labels, Counter>,
    /// The process's open-file limit, as `serve` set it at start.
    pub open_files_limit: Gauge<i64, AtomicI64>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("agentd");
        let http_requests = Family::<Labels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by status class",
            http_requests.clone(),
        );
        let event_streams = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "event_streams",
            "Open SSE and WebSocket event streams",
            event_streams.clone(),
        );
        let connections = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "connections",
            "Open client connections",
            connections.clone(),
        );
        let connections_dropped = Family::<Labels, Counter>::default();
        registry.register(
            "connections_dropped",
            "Connections closed by the connection caps, by reason",
            connections_dropped.clone(),
        );
        let open_files_limit = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "open_files_limit",
            "The process's open-file (RLIMIT_NOFILE) soft limit",
            open_files_limit.clone(),
        );
        Self {
            registry,
            http_requests,
            event_streams,
            connections,
            connections_dropped,
            open_files_limit,
        }
    }

    pub(crate) fn connections_dropped(&self, reason: &'static str) {
        self.connections_dropped
            .get_or_create(&vec![("reason", reason.to_owned())])
            .inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Middleware counting every response by status class.
pub(crate) async fn track(
    State(metrics): State<Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let response = next.run(req).await;
    let class = format!("{}xx", response.status().as_u16() / 100);
    metrics
        .http_requests
        .get_or_create(&vec![("status", class)])
        .inc();
    response
}

/// Counts an open event stream for as long as it lives.
pub(crate) struct StreamGuard(Arc<Metrics>);

impl StreamGuard {
    pub(crate) fn new(metrics: Arc<Metrics>) -> Self {
        metrics.event_streams.inc();
        Self(metrics)
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.event_streams.dec();
    }
}
