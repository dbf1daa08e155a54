//! The HTTP face of agentd: the `/api/v1` routes, authentication (bearer
//! tokens, tickets, login throttling, the audit log), SSE and WebSocket
//! event streams, health, readiness, metrics, the OpenAPI document,
//! `Idempotency-Key` replay and the web UI's files at `/`.
//!
//! Architecture invariant: handlers are thin. They parse, call the engine
//! (`agentd-core`) and map its errors to the one error envelope; no session
//! logic lives here.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod auth;
mod cpu;
mod error;
mod extract;
mod follow;
mod idempotency;
pub mod listen;
mod mcp_endpoint;
mod metrics;
mod openapi;
mod params;
mod routes;
mod sse;
mod state;

pub use agentd_core::GitHubWebhooks;
pub use cpu::DEFAULT_RENDER_BUDGET;
pub use error::ApiError;
pub use listen::ConnectionLimits;
pub use openapi::openapi_json;
pub use state::{AppState, DEFAULT_MAX_UPLOAD_BYTES};

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

/// Largest JSON body accepted on the API.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Every route, with the state, limits and tracing applied.
pub fn router(state: AppState) -> Router {
    let (api, _doc) = openapi::api_router().split_for_parts();
    let metrics = state.metrics.clone();
    api.merge(routes::health::router())
        .route_service("/mcp", mcp_endpoint::service(state.clone()))
        .fallback(routes::ui::serve)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Inside authentication: idempotency keys are per user.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotent,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::middleware::authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::track,
        ))
        // The span names the path only: query strings may carry a ticket,
        // and headers (never recorded) the bearer token.
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
            }),
        )
        .with_state(state)
}

/// Serve with the default connection limits and shutdown timeout.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listen::serve(
        listener,
        state,
        ConnectionLimits::default(),
        shutdown,
        listen::DEFAULT_SHUTDOWN_TIMEOUT,
    )
    .await
}

/// Interval of SSE keepalive comments and WebSocket pings.
pub(crate) const KEEPALIVE: Duration = Duration::from_secs(15);
