//! `/api/v1/users` (admins only): list, create, disable, unlock.

use agentd_protocol::{CreateUserRequest, ErrorBody, UserList, UserRole, UserView};
use axum::extract::{Path, State};
use axum::http::StatusCode;

use crate::auth::Caller;
use crate::auth::accounts;
use crate::auth::audit::Actor;
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

/// Every account.
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses(
        (status = 200, description = "The accounts", body = UserList),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
pub(crate) async fn list_users(
    State(state): State<AppState>,
) -> Result<axum::Json<UserList>, ApiError> {
    let users = state.manager.store().list_users().await?;
    Ok(axum::Json(UserList {
        users: users.iter().map(agentd_store::UserRecord::view).collect(),
    }))
}

/// Create an account (role `member` unless given).
#[utoipa::path(post, path = "/api/v1/users", tag = "users",
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "The new account", body = UserView),
        (status = 400, description = "Invalid request", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    ))]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<CreateUserRequest>,
) -> Result<(StatusCode, axum::Json<UserView>), ApiError> {
    let role = req.role.unwrap_or(UserRole::Member);
    let user = accounts::create_user_as(
        state.manager.store(),
        Actor::from(&caller),
        &req.name,
        role,
        req.password,
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(user.view())))
}

/// Disable an account: its tokens stop working at once.
#[utoipa::path(post, path = "/api/v1/users/{id}/disable", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The disabled account", body = UserView),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "Admins cannot disable themselves", body = ErrorBody),
    ))]
pub(crate) async fn disable_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<UserView>, ApiError> {
    accounts::disable_user(state.manager.store(), Actor::from(&caller), &id).await?;
    view(&state, &id).await
}

/// Clear an account's failed logins and lock.
#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The unlocked account", body = UserView),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub(crate) async fn unlock_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<UserView>, ApiError> {
    accounts::unlock_user(state.manager.store(), Actor::from(&caller), &id).await?;
    view(&state, &id).await
}

async fn view(state: &AppState, id: &str) -> Result<axum::Json<UserView>, ApiError> {
    let user = state
        .manager
        .store()
        .get_user(id)
        .await?
        .ok_or_else(|| ApiError::not_found("user not found"))?;
    Ok(axum::Json(user.view()))
}
