//! `/api/v1/sessions/{id}/approvals`: tool calls waiting for a person, and
//! the answers (the WebSocket `approve` message does the same).

use agentd_protocol::{AnswerApprovalRequest, ErrorBody, PendingApprovals};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::json;

use crate::auth::audit::Actor;
use crate::error::ApiError;
use crate::extract::{Json, OwnedSession};
use crate::state::AppState;

/// Requests of the session waiting for an answer.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/approvals", tag = "approvals",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, description = "Pending requests", body = PendingApprovals),
        (status = 404, description = "No such session", body = ErrorBody),
    ))]
pub(crate) async fn list_approvals(
    State(state): State<AppState>,
    session: OwnedSession,
) -> Result<axum::Json<PendingApprovals>, ApiError> {
    let approvals = state.manager.pending_approvals(session.id).await?;
    Ok(axum::Json(PendingApprovals { approvals }))
}

/// Accept, accept for the session, decline (with a message the model sees)
/// or cancel a waiting tool call.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/approvals/{request_id}", tag = "approvals",
    params(
        ("id" = String, Path, description = "Session id"),
        ("request_id" = String, Path, description = "The request_id of a permission.requested event"),
    ),
    request_body = AnswerApprovalRequest,
    responses(
        (status = 204, description = "Recorded; the turn goes on"),
        (status = 404, description = "No such session, or the request is no longer waiting", body = ErrorBody),
    ))]
pub(crate) async fn answer_approval(
    State(state): State<AppState>,
    session: OwnedSession,
    Path((_, request_id)): Path<(String, String)>,
    Json(req): Json<AnswerApprovalRequest>,
) -> Result<StatusCode, ApiError> {
    let by = session.caller.user_id.clone();
    state
        .manager
        .answer_approval(session.id, &request_id, req.decision, req.message, by)
        .await?;
    state
        .audit(
            Actor::from(&session.caller),
            "approval.answer",
            Some(session.id.to_string()),
            json!({"request_id": request_id, "decision": req.decision}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
