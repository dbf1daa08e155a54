//! `/api/v1/tokens`: the caller's personal access tokens. The secret is
//! returned once, at creation; only its hash is stored.

use std::time::Duration;

use agentd_protocol::{CreateTokenRequest, CreatedToken, ErrorBody, Scope, TokenList};
use agentd_store::TokenKind;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::json;

use crate::auth::Caller;
use crate::auth::accounts::{self, NewToken};
use crate::auth::audit::{self, Actor};
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

const MAX_EXPIRY_DAYS: u32 = 3650;

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
        tokens: tokens.iter().map(|t| t.view()).collect(),
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
    let ttl = match req.expires_in_days {
        None => None,
        Some(days @ 1..=MAX_EXPIRY_DAYS) => Some(Duration::from_secs(u64::from(days) * 86_400)),
        Some(_) => {
            return Err(ApiError::bad_request(
                agentd_protocol::ErrorCode::ValidationFailed,
                format!("expires_in_days is 1 to {MAX_EXPIRY_DAYS}"),
            ));
        }
    };
    let store = state.manager.store();
    let user = store
        .get_user(&caller.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the account is gone"))?;
    let (secret, record) = accounts::issue_token(
        store,
        &user,
        NewToken {
            kind: TokenKind::Pat,
            name: &req.name,
            scope,
            ttl,
            family: None,
        },
    )
    .await?;
    audit::record(
        store,
        Actor::from(&caller),
        "token.create",
        Some(record.id.clone()),
        json!({"name": record.name, "scope": scope}),
    )
    .await;
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
    store.revoke_token(&token.id, accounts::now()).await?;
    audit::record(
        store,
        Actor::from(&caller),
        "token.revoke",
        Some(token.id.clone()),
        json!({"owner": token.user_id}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
