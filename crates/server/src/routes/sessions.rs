//! `/api/v1/sessions`: create, list, get, delete, message, steer, cancel.

use agentd_protocol::{
    CreateSessionRequest, ErrorBody, InputAccepted, ResumeRequest, SendMessageRequest, SessionId,
    SessionList, SessionStatus, SessionView, Validate,
};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::auth::audit::Actor;
use crate::error::ApiError;
use crate::extract::{Json, OwnedSession, Query};
use crate::state::AppState;

/// Start a session: it begins working on `prompt` at once.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions",
    request_body = CreateSessionRequest,
    responses(
        (status = 201, description = "The new session", body = SessionView),
        (status = 400, description = "Invalid request", body = ErrorBody),
    ))]
pub(crate) async fn create_session(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<CreateSessionRequest>,
) -> Result<(StatusCode, axum::Json<SessionView>), ApiError> {
    // Before anything exists: a value the store cannot hold must not fail
    // after the worktree and branch were made.
    req.validate()?;
    let view = state
        .manager
        .create_session(req, Some(caller.user_id.clone()))
        .await?;
    state
        .audit(
            Actor::from(&caller),
            "session.create",
            Some(view.id.to_string()),
            json!({"title": view.title}),
        )
        .await;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Only sessions with this status.
    pub(crate) status: Option<SessionStatus>,
    /// Sessions created before this one (the `next_before` of a page).
    pub(crate) before: Option<SessionId>,
    /// Page size, 1 to 200 (default 50); anything else is refused.
    #[param(minimum = 1, maximum = 200)]
    pub(crate) limit: Option<u32>,
}

/// Sessions, newest first: the caller's own, or every session for an admin.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "sessions", params(ListParams),
    responses(
        (status = 200, description = "A page of sessions", body = SessionList),
        (status = 400, description = "Invalid parameters", body = ErrorBody),
    ))]
pub(crate) async fn list_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<SessionList>, ApiError> {
    let list = state
        .manager
        .list_sessions_within(
            caller.reach(),
            params.status,
            params.before,
            crate::params::page_limit(params.limit, 50, 200)?,
        )
        .await?;
    Ok(axum::Json(list))
}

/// One session with its current status.
#[utoipa::path(get, path = "/api/v1/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, description = "The session", body = SessionView),
        (status = 404, description = "No such session", body = ErrorBody),
    ))]
pub(crate) async fn get_session(session: OwnedSession) -> axum::Json<SessionView> {
    axum::Json(session.view)
}

/// Stop the session and delete it with its history.
#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such session", body = ErrorBody),
        (status = 409, description = "The running turn did not stop in time", body = ErrorBody),
    ))]
pub(crate) async fn delete_session(
    State(state): State<AppState>,
    session: OwnedSession,
) -> Result<StatusCode, ApiError> {
    state.manager.delete_session(session.id).await?;
    state
        .audit(
            Actor::from(&session.caller),
            "session.delete",
            Some(session.id.to_string()),
            json!({}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// A follow-up message; queued if a turn is running.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/messages", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    request_body = SendMessageRequest,
    responses(
        (status = 202, description = "Accepted (durable)", body = InputAccepted),
        (status = 400, description = "Invalid request", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
    ))]
pub(crate) async fn send_message(
    State(state): State<AppState>,
    session: OwnedSession,
    Json(req): Json<SendMessageRequest>,
) -> Result<(StatusCode, axum::Json<InputAccepted>), ApiError> {
    let accepted = state.manager.send_message(session.id, req.text).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(accepted)))
}

/// A message injected into the running turn at its next tool boundary.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/steer", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    request_body = SendMessageRequest,
    responses(
        (status = 202, description = "Accepted (durable)", body = InputAccepted),
        (status = 400, description = "Invalid request", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
    ))]
pub(crate) async fn steer(
    State(state): State<AppState>,
    session: OwnedSession,
    Json(req): Json<SendMessageRequest>,
) -> Result<(StatusCode, axum::Json<InputAccepted>), ApiError> {
    let accepted = state.manager.steer(session.id, req.text).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(accepted)))
}

/// Interrupt the running turn: its model request and tools stop.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/cancel", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, description = "The session after the turn stopped", body = SessionView),
        (status = 404, description = "No such session", body = ErrorBody),
    ))]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    session: OwnedSession,
) -> Result<axum::Json<SessionView>, ApiError> {
    let view = state.manager.cancel(session.id).await?;
    state
        .audit(
            Actor::from(&session.caller),
            "session.cancel",
            Some(session.id.to_string()),
            json!({}),
        )
        .await;
    Ok(axum::Json(view))
}

/// Pause the session before its next model call; it shows `paused` (reason
/// "paused by request") until resumed.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/pause", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, description = "The session; it pauses before its next model call", body = SessionView),
        (status = 404, description = "No such session", body = ErrorBody),
        (status = 409, description = "The session is not working", body = ErrorBody),
    ))]
pub(crate) async fn pause(
    State(state): State<AppState>,
    session: OwnedSession,
) -> Result<axum::Json<SessionView>, ApiError> {
    let view = state.manager.pause(session.id).await?;
    state
        .audit(
            Actor::from(&session.caller),
            "session.pause",
            Some(session.id.to_string()),
            json!({}),
        )
        .await;
    Ok(axum::Json(view))
}

/// Resume a paused session (paused on request or by a budget). The body is
/// optional; `budget` raises the session's own budget first. A session still
/// over a budget stays paused: 409 `budget_exceeded` says which.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/resume", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    request_body(content = Option<ResumeRequest>, description = "Optional: raise the session's budget"),
    responses(
        (status = 200, description = "The session; its turn continues", body = SessionView),
        (status = 400, description = "Invalid request", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
        (status = 409, description = "Not paused, or still over a budget", body = ErrorBody),
    ))]
pub(crate) async fn resume(
    State(state): State<AppState>,
    session: OwnedSession,
    body: axum::body::Bytes,
) -> Result<axum::Json<SessionView>, ApiError> {
    let req: ResumeRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ResumeRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(
                agentd_protocol::ErrorCode::InvalidJson,
                format!("the body is not a valid resume request: {e}"),
            )
        })?
    };
    req.validate()?;
    let view = state.manager.resume(session.id, req.budget).await?;
    state
        .audit(
            Actor::from(&session.caller),
            "session.resume",
            Some(session.id.to_string()),
            json!({ "budget": req.budget }),
        )
        .await;
    Ok(axum::Json(view))
}

/// The workspace's checkpoints, one per finished turn.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/checkpoints", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, description = "Checkpoints, oldest first", body = agentd_protocol::CheckpointList),
        (status = 404, description = "No such session", body = ErrorBody),
    ))]
pub(crate) async fn checkpoints(
    State(state): State<AppState>,
    session: OwnedSession,
) -> Result<axum::Json<agentd_protocol::CheckpointList>, ApiError> {
    let checkpoints = state.manager.checkpoints(session.id).await?;
    Ok(axum::Json(agentd_protocol::CheckpointList { checkpoints }))
}

/// Restore the workspace as a turn left it (refused while a turn runs).
#[utoipa::path(post, path = "/api/v1/sessions/{id}/rollback", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    request_body = agentd_protocol::RollbackRequest,
    responses(
        (status = 200, description = "The session; its workspace is restored", body = SessionView),
        (status = 404, description = "No such session or checkpoint", body = ErrorBody),
        (status = 409, description = "A turn is running", body = ErrorBody),
    ))]
pub(crate) async fn rollback(
    State(state): State<AppState>,
    session: OwnedSession,
    Json(req): Json<agentd_protocol::RollbackRequest>,
) -> Result<axum::Json<SessionView>, ApiError> {
    let view = state.manager.rollback(session.id, req.turn).await?;
    state
        .audit(
            Actor::from(&session.caller),
            "session.rollback",
            Some(session.id.to_string()),
            json!({"turn": req.turn}),
        )
        .await;
    Ok(axum::Json(view))
}
