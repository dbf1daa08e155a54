//! `/api/v1/auth`: login (name + password → access and refresh tokens),
//! refresh, logout, who-am-I and single-use tickets for event streams.

use agentd_protocol::{ErrorBody, LoginRequest, Me, RefreshRequest, Scope, Ticket, TokenPair};
use agentd_store::{Store, TokenKind, UserRecord};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::auth::accounts::{self, NewToken};
use crate::auth::audit::{self, Actor};
use crate::auth::login::password_login;
use crate::auth::{Caller, ClientIp, secret};
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

/// Exchange a name and password for a short-lived access token and a
/// refresh token. Failed attempts slow down, then lock, the account.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenPair),
        (status = 401, description = "Invalid name or password", body = ErrorBody),
        (status = 429, description = "Too many failed logins; see Retry-After", body = ErrorBody),
    ))]
pub(crate) async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(req): Json<LoginRequest>,
) -> Result<axum::Json<TokenPair>, ApiError> {
    let store = state.manager.store();
    let user = password_login(&state, ip, &req.name, req.password).await?;
    let user = &user;
    let family = agentd_protocol::ids::prefixed_id("login");
    let pair = issue_pair(&state, store, user, family).await?;
    let actor = Actor {
        id: Some(user.id.clone()),
        name: user.name.clone(),
        ip,
    };
    audit::record(store, actor, "login.success", None, json!({})).await;
    Ok(axum::Json(pair))
}

/// A new access + refresh pair. `family` names the login: a refresh keeps
/// it, so replaying a used refresh token can end every pair descended from
/// the same login.
async fn issue_pair(
    state: &AppState,
    store: &Store,
    user: &UserRecord,
    family: String,
) -> Result<TokenPair, ApiError> {
    let config = &state.auth.config;
    let (access, access_rec) = accounts::issue_token(
        store,
        user,
        NewToken {
            kind: TokenKind::Access,
            name: "login",
            scope: user.role.max_scope(),
            ttl: Some(config.access_ttl),
            family: Some(family.clone()),
        },
    )
    .await?;
    let (refresh, refresh_rec) = accounts::issue_token(
        store,
        user,
        NewToken {
            kind: TokenKind::Refresh,
            name: "login",
            scope: user.role.max_scope(),
            ttl: Some(config.refresh_ttl),
            family: Some(family),
        },
    )
    .await?;
    Ok(TokenPair {
        access_token: access,
        access_expires_at: access_rec.expires_at.unwrap_or(access_rec.created_at),
        refresh_token: refresh,
        refresh_expires_at: refresh_rec.expires_at.unwrap_or(refresh_rec.created_at),
        token_type: "Bearer".to_owned(),
        user: user.view(),
    })
}

/// Trade a refresh token for a new pair. Each refresh token works once; the
/// old access token stops working.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", security(()),
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = TokenPair),
        (status = 401, description = "Invalid, used or expired refresh token", body = ErrorBody),
    ))]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(req): Json<RefreshRequest>,
) -> Result<axum::Json<TokenPair>, ApiError> {
    let store = state.manager.store();
    let now = accounts::now();
    let hash = secret::hash_token(&req.refresh_token);
    let Some(token) = store.consume_token(&hash, TokenKind::Refresh, now).await? else {
        // A used refresh token presented again means it leaked: end the
        // whole login.
        if let Some(old) = store.token_by_hash(&hash).await?
            && old.kind == TokenKind::Refresh
            && let Some(family) = &old.family
        {
            store.revoke_family(family, now).await?;
        }
        return Err(ApiError::unauthorized(
            "the refresh token is invalid, used or expired",
        ));
    };
    let family = token
        .family
        .clone()
        .unwrap_or_else(|| agentd_protocol::ids::prefixed_id("login"));
    // The old access token ends with the refresh token it came with.
    store.revoke_family(&family, now).await?;
    let user = store
        .get_user(&token.user_id)
        .await?
        .filter(|u| u.disabled_at.is_none())
        .ok_or_else(|| ApiError::unauthorized("the refresh token is invalid, used or expired"))?;
    let pair = issue_pair(&state, store, &user, family).await?;
    let actor = Actor {
        id: Some(user.id.clone()),
        name: user.name.clone(),
        ip,
    };
    audit::record(store, actor, "login.refresh", None, json!({})).await;
    Ok(axum::Json(pair))
}

/// Revoke the presented token (and, for a login, its refresh token; for a
/// browser session, its cookies).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
) -> Result<Response, ApiError> {
    let store = state.manager.store();
    let now = accounts::now();
    match &caller.family {
        Some(family) => {
            store.revoke_family(family, now).await?;
        }
        None => {
            store.revoke_token(&caller.token_id, now).await?;
        }
    }
    audit::record(
        store,
        Actor::from(&caller),
        "logout",
        Some(caller.token_id.clone()),
        json!({"kind": caller.kind.as_str()}),
    )
    .await;
    Ok(crate::routes::web::no_content_ending(
        &state, &headers, &caller,
    ))
}

/// The caller's account and the scope of the presented token.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub(crate) async fn me(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Me>, ApiError> {
    let user = state
        .manager
        .store()
        .get_user(&caller.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the account is gone"))?;
    Ok(axum::Json(Me {
        user: user.view(),
        scope: caller.scope,
    }))
}

/// A single-use ticket, valid for about a minute, for
/// `GET /api/v1/sessions/{id}/events?ticket=…` or `GET /api/v1/ws?ticket=…`
/// (browsers cannot set headers on EventSource and WebSocket).
#[utoipa::path(post, path = "/api/v1/auth/ticket", tag = "auth",
    responses(
        (status = 201, description = "The ticket", body = Ticket),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub(crate) async fn ticket(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<(StatusCode, axum::Json<Ticket>), ApiError> {
    let store = state.manager.store();
    let user = store
        .get_user(&caller.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the account is gone"))?;
    let (secret, record) = accounts::issue_token(
        store,
        &user,
        NewToken {
            kind: TokenKind::Ticket,
            name: "ticket",
            // Streams only read.
            scope: Scope::Read,
            ttl: Some(state.auth.config.ticket_ttl),
            family: None,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Ticket {
            ticket: secret,
            expires_at: record.expires_at.unwrap_or(record.created_at),
        }),
    ))
}
