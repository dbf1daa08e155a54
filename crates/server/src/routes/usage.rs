//! Usage and quotas: `GET /api/v1/usage` (the caller's), `GET
//! /api/v1/admin/usage` (everyone's) and `GET|PUT /api/v1/users/{id}/quotas`
//! (admins set a user's limits).

use agentd_protocol::{ErrorBody, Limits, QuotaView, UsageList, UserUsage};
use axum::extract::{Path, State};
use serde_json::json;

use crate::auth::Caller;
use crate::auth::audit::Actor;
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

/// The caller's usage today and this month (UTC), their running and total
/// sessions, and the limits that apply to them.
#[utoipa::path(get, path = "/api/v1/usage", tag = "usage",
    responses(
        (status = 200, description = "The caller's usage and limits", body = UserUsage),
    ))]
pub(crate) async fn my_usage(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<UserUsage>, ApiError> {
    let usage = state.manager.usage(&caller.user_id, &caller.name).await?;
    Ok(axum::Json(usage))
}

/// Every user's usage and limits (admins only).
#[utoipa::path(get, path = "/api/v1/admin/usage", tag = "usage",
    responses(
        (status = 200, description = "Usage per user", body = UsageList),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
pub(crate) async fn all_usage(
    State(state): State<AppState>,
) -> Result<axum::Json<UsageList>, ApiError> {
    Ok(axum::Json(state.manager.usage_of_all().await?))
}

/// A user's limits: what an admin set, and what applies with the server's
/// defaults (admins only).
#[utoipa::path(get, path = "/api/v1/users/{id}/quotas", tag = "usage",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The user's limits", body = QuotaView),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub(crate) async fn get_quotas(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<QuotaView>, ApiError> {
    if state.manager.store().get_user(&id).await?.is_none() {
        return Err(ApiError::not_found("user not found"));
    }
    Ok(axum::Json(state.manager.quotas(&id).await?))
}

/// Replace a user's limits (`null` fields inherit the server's defaults).
/// Sessions of the user paused by a budget the new limits allow resume at
/// once (admins only).
#[utoipa::path(put, path = "/api/v1/users/{id}/quotas", tag = "usage",
    params(("id" = String, Path, description = "User id")),
    request_body = Limits,
    responses(
        (status = 200, description = "The user's new limits", body = QuotaView),
        (status = 400, description = "Invalid limits", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub(crate) async fn put_quotas(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(limits): Json<Limits>,
) -> Result<axum::Json<QuotaView>, ApiError> {
    agentd_protocol::Validate::validate(&limits)?;
    if state.manager.store().get_user(&id).await?.is_none() {
        return Err(ApiError::not_found("user not found"));
    }
    let view = state.manager.set_quotas(&id, limits).await?;
    state
        .audit(
            Actor::from(&caller),
            "user.quotas",
            Some(id),
            json!({ "limits": limits }),
        )
        .await;
    Ok(axum::Json(view))
}
