//! `GET /api/v1/sessions/{id}/events`: Server-Sent Events, every frame with
//! `id: <seq>`; `Last-Event-ID` or `?after=N` resumes. `?format=json` (or
//! `Accept: application/json`) returns one page of the log instead.

use agentd_protocol::{ErrorBody, EventPage};
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::mpsc;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::extract::{OwnedSession, Query};
use crate::follow::follow;
use crate::metrics::StreamGuard;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventParams {
    /// Only events with `seq` greater than this (default 0). The
    /// `Last-Event-ID` header, when present, takes precedence.
    after: Option<u64>,
    /// `json` for a page of the log instead of a stream.
    format: Option<String>,
    /// Page size for `format=json`, 1 to 10000 (default 1000).
    limit: Option<u32>,
    /// A single-use ticket from `POST /api/v1/auth/ticket`, for clients
    /// that cannot send `Authorization` (EventSource).
    #[allow(dead_code, reason = "read by the auth middleware")]
    ticket: Option<String>,
}

/// The session's events, live.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/events", tag = "events",
    params(("id" = String, Path, description = "Session id"), EventParams,
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this seq")),
    responses(
        (status = 200, description = "text/event-stream of event envelopes (or a JSON page)", body = EventPage),
        (status = 404, description = "No such session", body = ErrorBody),
    ))]
pub(crate) async fn events(
    State(state): State<AppState>,
    session: OwnedSession,
    Query(params): Query<EventParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = session.id;
    let after = match headers.get("last-event-id") {
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                ApiError::bad_request(
                    agentd_protocol::ErrorCode::ValidationFailed,
                    "Last-Event-ID must be an event seq",
                )
            })?,
        None => params.after.unwrap_or(0),
    };
    if wants_json(&params, &headers) {
        let events = state
            .manager
            .read_events(id, after, params.limit.unwrap_or(1_000))
            .await?;
        return Ok(axum::Json(EventPage { events }).into_response());
    }
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(follow(state.manager.clone(), id, after, tx));
    Ok(crate::sse::response(
        rx,
        StreamGuard::new(state.metrics.clone()),
        state.closing.clone(),
    ))
}

fn wants_json(params: &EventParams, headers: &HeaderMap) -> bool {
    if let Some(format) = &params.format {
        return format == "json";
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("application/json") && !accept.contains("text/event-stream")
}
