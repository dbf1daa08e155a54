//! `/api/v1/tokens`: the caller's personal access tokens. The secret is
//! returned once, at creation; only its hash is stored.

use agentd_protocol::{CreateTokenRequest, CreatedToken, ErrorBody, Scope, TokenList};
use agentd_store::TokenKind;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use crate::auth::Caller;
use crate::auth::accounts;
use crate::auth::audit::Actor;
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

/// The caller's personal access tokens, newest first, with when each was
/// last used.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses(
        (status = 200, description = "The caller's tokens", body = TokenList),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub(crate) async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<TokenList>, ApiError> {
    let tokens = state
        .manager
        .store()
        .list_tokens(&caller.user_id, TokenKind::Pat)
        .await?;
    Ok(axum::Json(TokenList {
        tokens: tokens.iter().map(agentd_store::TokenRecord::view).collect(),
    }))
}

/// Create a personal access token (at most the caller's own scope).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens",
    request_body = CreateTokenRequest,
    responses(
        (status = 201, description = "The token; its secret is shown only now", body = CreatedToken),
        (status = 400, description = "Invalid request", body = ErrorBody),
        (status = 403, description = "Scope wider than the caller's", body = ErrorBody),
    ))]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<CreateTokenRequest>,
) -> Result<(StatusCode, axum::Json<CreatedToken>), ApiError> {
    let scope = req.scope.unwrap_or(Scope::Write.min(caller.scope));
    if scope > caller.scope {
        return Err(ApiError::forbidden(format!(
            "a token with scope {} cannot create one with scope {scope}",
            caller.scope
        )));
    }
    let store = state.manager.store();
    let user = store
        .get_user(&caller.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the account is gone"))?;
    let (secret, record) = accounts::create_personal_token(
        store,
        Actor::from(&caller),
        &user,
        &req.name,
        scope,
        req.expires_in_days,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedToken {
            token: secret,
            info: record.view(),
        }),
    ))
}

/// Revoke a token at once. Members revoke their own; admins any.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such token", body = ErrorBody),
    ))]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let store = state.manager.store();
    let token = store
        .get_token(&id)
        .await?
        .filter(|t| t.kind == TokenKind::Pat && (t.user_id == caller.user_id || caller.is_admin()))
        .ok_or_else(|| ApiError::not_found("token not found"))?;
    accounts::revoke_personal_token(store, Actor::from(&caller), &token).await?;
    Ok(StatusCode::NO_CONTENT)
}
