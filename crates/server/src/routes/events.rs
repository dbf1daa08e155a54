//! `GET /api/v1/sessions/{id}/events`: Server-Sent Events, every frame with
//! `id: <seq>`; `Last-Event-ID` or `?after=N` resumes. `?format=json` (or
//! `Accept: application/json`) returns one page of the log instead;
//! `?format=sse` asks for the stream whatever `Accept` says. Any other
//! format is refused, never guessed.

use agentd_protocol::{ErrorBody, EventPage, SseFrame};
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::mpsc;
use utoipa::{IntoParams, ToSchema};

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
    /// `sse` for the live stream, `json` for a page of the log. Without it,
    /// `Accept: application/json` (and not `text/event-stream`) means `json`.
    #[param(inline)]
    format: Option<EventFormat>,
    /// Page size for `format=json`, 1 to 10000 (default 1000); anything
    /// else is refused.
    #[param(minimum = 1, maximum = 10_000)]
    limit: Option<u32>,
    /// A single-use ticket from `POST /api/v1/auth/ticket`, for clients
    /// that cannot send `Authorization` (EventSource).
    #[allow(dead_code, reason = "read by the auth middleware")]
    ticket: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum EventFormat {
    Sse,
    Json,
}

/// The session's events: a live Server-Sent Events stream, or one page of
/// the stored log as JSON.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/events", tag = "events",
    params(("id" = String, Path, description = "Session id"), EventParams,
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this seq")),
    responses(
        (status = 200, description = "`text/event-stream`: one frame per event (`id: <seq>`, `event: <type>`, `data:` an EventEnvelope), kept open; with `format=json`, a page of the log",
            content(
                (SseFrame = "text/event-stream"),
                (EventPage = "application/json"),
            )),
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
            })
            .and_then(|seq| crate::params::seq("Last-Event-ID", seq))?,
        None => crate::params::seq("after", params.after.unwrap_or(0))?,
    };
    let limit = crate::params::page_limit(params.limit, 1_000, 10_000)?;
    if wants_json(&params, &headers) {
        let events = state.manager.read_events(id, after, limit).await?;
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
    if let Some(format) = params.format {
        return format == EventFormat::Json;
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("application/json") && !accept.contains("text/event-stream")
}
