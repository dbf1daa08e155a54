//! Browser logins: `POST /api/v1/auth/session` (name + password → an
//! HttpOnly session cookie and a CSRF cookie) and `POST
//! /api/v1/auth/logout-all` (end every login of the caller, everywhere).

use agentd_protocol::{ErrorBody, LoginRequest, WebSession};
use agentd_store::{TokenKind, UserRecord};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use serde_json::json;

use crate::auth::accounts::{self, NewToken};
use agentd_accounts::logins;

use crate::auth::audit::Actor;
use crate::auth::login::password_login;
use crate::auth::{Caller, ClientIp, cookies, secret};
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

/// Log a browser in: sets the HttpOnly `agentd_session` cookie (SameSite=Lax,
/// Secure over https) and the readable `agentd_csrf` cookie, whose value
/// must come back in `X-CSRF-Token` on every state-changing request. Failed
/// attempts are throttled like `POST /api/v1/auth/login`.
#[utoipa::path(post, path = "/api/v1/auth/session", tag = "auth", security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; the session is in the cookies", body = WebSession),
        (status = 401, description = "Invalid name or password", body = ErrorBody),
        (status = 403, description = "Cross-site login refused", body = ErrorBody),
        (status = 429, description = "Too many failed logins; see Retry-After", body = ErrorBody),
    ))]
pub(crate) async fn create_web_session(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(req): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    // Another site must not log the browser into an account of its choosing
    // (login CSRF). Browsers send Origin on POST; non-browser clients that
    // send none are not at risk.
    if headers.contains_key(axum::http::header::ORIGIN)
        && !cookies::same_origin(&state.auth.config, &headers)
    {
        return Err(ApiError::forbidden(
            cookies::CsrfRefusal::ForeignOrigin.message(),
        ));
    }
    let user = password_login(&state, ip, &req.name, req.password).await?;
    let (session, set) = start(&state, &headers, &user).await?;
    state
        .audit(
            Actor {
                id: Some(user.id.clone()),
                name: user.name.clone(),
                ip,
            },
            "login.web",
            None,
            json!({"method": "password"}),
        )
        .await;
    Ok((AppendHeaders(set), axum::Json(session)).into_response())
}

/// Issues a browser session for `user`: the body and the cookies to set.
pub(crate) async fn start(
    state: &AppState,
    headers: &HeaderMap,
    user: &UserRecord,
) -> Result<(WebSession, Vec<(HeaderName, HeaderValue)>), ApiError> {
    let config = &state.auth.config;
    let (secret, record) = accounts::issue_token(
        state.manager.store(),
        user,
        NewToken {
            kind: TokenKind::Web,
            name: "web",
            scope: user.role.max_scope(),
            ttl: Some(config.web_session_ttl),
            family: None,
        },
    )
    .await?;
    let session = WebSession {
        user: user.view(),
        expires_at: record.expires_at.unwrap_or(record.created_at),
        csrf_token: secret::derive_csrf(&secret),
    };
    Ok((session, cookies::session_cookies(config, headers, &secret)))
}

/// End every login of the caller: browser sessions, login access and
/// refresh tokens and unused tickets. Personal access tokens stay (revoke
/// those one by one under `/api/v1/tokens`).
#[utoipa::path(post, path = "/api/v1/auth/logout-all", tag = "auth",
    responses(
        (status = 204, description = "Every login of the caller ended"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub(crate) async fn logout_all(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
) -> Result<Response, ApiError> {
    logins::logout_all(state.manager.store(), Actor::from(&caller), &caller.user_id).await?;
    Ok(no_content_ending(&state, &headers, &caller))
}

/// 204, clearing the browser's cookies when the caller came with one.
pub(crate) fn no_content_ending(
    state: &AppState,
    headers: &HeaderMap,
    caller: &Caller,
) -> Response {
    if caller.kind == TokenKind::Web {
        let clear = cookies::clearing_cookies(&state.auth.config, headers);
        (StatusCode::NO_CONTENT, AppendHeaders(clear)).into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    }
}
