//! `/api/v1/auth`: login (name + password → access and refresh tokens),
//! refresh, logout, who-am-I and single-use tickets for event streams.

use agentd_protocol::{ErrorBody, LoginRequest, Me, RefreshRequest, Scope, Ticket, TokenPair};
use agentd_store::{TokenKind, UserRecord};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use agentd_accounts::logins::{self, LoginLifetimes, LoginPair};

use crate::auth::accounts::{self, NewToken};
use crate::auth::audit::Actor;
use crate::auth::login::password_login;
use crate::auth::{Caller, ClientIp};
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
    let user = password_login(&state, ip, &req.name, req.password).await?;
    let family = agentd_protocol::ids::prefixed_id("login");
    let pair = logins::issue_pair(state.manager.store(), &user, lifetimes(&state), family).await?;
    let actor = Actor {
        id: Some(user.id.clone()),
        name: user.name.clone(),
        ip,
    };
    state.audit(actor, "login.success", None, json!({})).await;
    Ok(axum::Json(token_pair(&user, pair)))
}

/// The API's view of a login's tokens.
fn token_pair(user: &UserRecord, pair: LoginPair) -> TokenPair {
    TokenPair {
        access_token: pair.access,
        access_expires_at: pair
            .access_record
            .expires_at
            .unwrap_or(pair.access_record.created_at),
        refresh_token: pair.refresh,
        refresh_expires_at: pair
            .refresh_record
            .expires_at
            .unwrap_or(pair.refresh_record.created_at),
        token_type: "Bearer".to_owned(),
        user: user.view(),
    }
}

fn lifetimes(state: &AppState) -> LoginLifetimes {
    LoginLifetimes {
        access: state.auth.config.access_ttl,
        refresh: state.auth.config.refresh_ttl,
    }
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
    let (user, pair) = logins::refresh(
        state.manager.store(),
        &req.refresh_token,
        lifetimes(&state),
        ip,
    )
    .await?;
    Ok(axum::Json(token_pair(&user, pair)))
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
    logins::logout(
        state.manager.store(),
        Actor::from(&caller),
        &caller.token_id,
        caller.family.as_deref(),
        caller.kind,
    )
    .await?;
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
