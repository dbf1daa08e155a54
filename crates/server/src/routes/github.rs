//! `GET /api/v1/auth/github/start` and `…/callback`: sign in with GitHub.
//!
//! Start stores a random `state` (hashed, ten minutes, single use) and also
//! puts it in a cookie, so the callback only completes in the browser that
//! started it: otherwise someone could send a victim a callback URL carrying
//! the attacker's own code and log the victim into the attacker's account.
//! A browser that starts while logged in links the GitHub account to its
//! user instead of signing in as whoever is linked.

use std::time::Duration;

use agentd_protocol::{ErrorBody, ErrorCode, UserRole};
use agentd_store::{IdentityRecord, OAuthState, StoreError, TokenKind, UserRecord};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use crate::auth::accounts::{self, AccountError};
use crate::auth::audit::{self, Actor};
use crate::auth::github::{GitHubOAuth, GitHubUser};
use crate::auth::{ClientIp, cookies, secret};
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;

const STATE_TTL: Duration = Duration::from_secs(600);
const COOKIE_PATH: &str = "/api/v1/auth/github";
const CALLBACK_PATH: &str = "/api/v1/auth/github/callback";
const PROVIDER: &str = "github";

fn configured(state: &AppState) -> Result<&GitHubOAuth, ApiError> {
    state.auth.config.github.as_ref().ok_or_else(|| {
        ApiError::not_found(
            "GitHub sign-in is not configured on this server \
             (set AGENTD_GITHUB_CLIENT_ID and AGENTD_GITHUB_CLIENT_SECRET)",
        )
    })
}

fn redirect_uri(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    cookies::external_base(&state.auth.config, headers)
        .map(|base| format!("{base}{CALLBACK_PATH}"))
        .ok_or_else(|| {
            ApiError::bad_request(
                ErrorCode::BadRequest,
                "no Host header: set the server's public URL (AGENTD_PUBLIC_URL)",
            )
        })
}

/// Redirects to GitHub's authorize page. Called while logged in (with the
/// session cookie), the callback links the GitHub account to this user.
#[utoipa::path(get, path = "/api/v1/auth/github/start", tag = "auth", security(()),
    responses(
        (status = 303, description = "To GitHub's authorize page"),
        (status = 404, description = "GitHub sign-in is not configured", body = ErrorBody),
    ))]
pub(crate) async fn github_start(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let github = configured(&state)?;
    let redirect_uri = redirect_uri(&state, &headers)?;
    let store = state.manager.store();
    let now = accounts::now();
    let link_user_id = match cookies::cookie(&headers, cookies::SESSION_COOKIE) {
        Some(session) => store
            .token_by_hash(&secret::hash_token(session))
            .await?
            .filter(|t| t.kind == TokenKind::Web && t.is_live(now))
            .map(|t| t.user_id),
        None => None,
    };
    let value =
        secret::generate(TokenKind::Ticket)[secret::prefix(TokenKind::Ticket).len()..].to_owned();
    store
        .insert_oauth_state(&OAuthState {
            state_hash: secret::hash_token(&value),
            link_user_id,
            created_at: now,
            expires_at: now + STATE_TTL,
        })
        .await?;
    let secure = cookies::secure(&state.auth.config, &headers);
    let cookie = cookies::set_cookie(
        cookies::OAUTH_STATE_COOKIE,
        &value,
        COOKIE_PATH,
        STATE_TTL,
        true,
        secure,
    );
    let target = github.authorize_url(&redirect_uri, &value);
    Ok((
        AppendHeaders(cookie.map(|c| (axum::http::header::SET_COOKIE, c))),
        Redirect::to(&target),
    )
        .into_response())
}

#[derive(Deserialize)]
pub(crate) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Where GitHub sends the browser back: checks `state`, asks GitHub who
/// signed in, then logs into the linked user (or links, or signs up a new
/// member when allowed), sets the session cookies and redirects to `/`.
#[utoipa::path(get, path = "/api/v1/auth/github/callback", tag = "auth", security(()),
    params(
        ("code" = Option<String>, Query, description = "From GitHub"),
        ("state" = Option<String>, Query, description = "From the start route"),
    ),
    responses(
        (status = 303, description = "Logged in; to the web UI"),
        (status = 401, description = "Sign-in not completed, or the state is wrong", body = ErrorBody),
        (status = 403, description = "No agentd user is linked to this GitHub account", body = ErrorBody),
        (status = 404, description = "GitHub sign-in is not configured", body = ErrorBody),
    ))]
pub(crate) async fn github_callback(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    let github = configured(&state)?;
    if let Some(error) = q.error {
        return Err(ApiError::unauthorized(format!(
            "GitHub sign-in was not completed ({error})"
        )));
    }
    let (Some(code), Some(value)) = (q.code, q.state) else {
        return Err(ApiError::bad_request(
            ErrorCode::ValidationFailed,
            "the callback needs code and state",
        ));
    };
    let started_here =
        cookies::cookie(&headers, cookies::OAUTH_STATE_COOKIE).is_some_and(|c| c == value);
    let store = state.manager.store();
    let saved = store
        .consume_oauth_state(&secret::hash_token(&value), accounts::now())
        .await?;
    let (Some(saved), true) = (saved, started_here) else {
        return Err(ApiError::unauthorized(
            "this sign-in is unknown, used, expired or was started in another browser; start again",
        ));
    };
    let gh = github
        .user_for_code(&code, &redirect_uri(&state, &headers)?)
        .await?;
    let (user, action) = account_for(&state, github, &gh, saved.link_user_id).await?;
    let (_, mut set) = super::web::start(&state, &headers, &user).await?;
    let secure = cookies::secure(&state.auth.config, &headers);
    set.extend(
        cookies::set_cookie(
            cookies::OAUTH_STATE_COOKIE,
            "",
            COOKIE_PATH,
            Duration::ZERO,
            true,
            secure,
        )
        .map(|c| (axum::http::header::SET_COOKIE, c)),
    );
    let actor = Actor {
        id: Some(user.id.clone()),
        name: user.name.clone(),
        ip,
    };
    let detail = json!({"github_id": gh.id, "github_login": gh.login});
    audit::record(store, actor, action, Some(user.id.clone()), detail).await;
    Ok((AppendHeaders(set), Redirect::to("/")).into_response())
}

/// The agentd user behind a GitHub account, and what happened (the audit
/// action): signed in as the linked user, linked to the logged-in user, or
/// signed up.
async fn account_for(
    state: &AppState,
    github: &GitHubOAuth,
    gh: &GitHubUser,
    link_user_id: Option<String>,
) -> Result<(UserRecord, &'static str), ApiError> {
    let store = state.manager.store();
    let subject = gh.id.to_string();
    let (user_id, action) = match (store.identity(PROVIDER, &subject).await?, link_user_id) {
        (Some(link), Some(me)) if link.user_id != me => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::Conflict,
                format!("GitHub account @{} is linked to another user", gh.login),
            ));
        }
        (Some(link), _) => (link.user_id, "oauth.login"),
        (None, Some(me)) => {
            link(state, &me, gh).await?;
            (me, "oauth.link")
        }
        (None, None) if github.allow_signup => {
            let user = sign_up(state, gh).await?;
            link(state, &user.id, gh).await?;
            return Ok((user, "oauth.signup"));
        }
        (None, None) => {
            return Err(ApiError::forbidden(format!(
                "no agentd user is linked to GitHub account @{}: log in and link it, \
                 or ask an admin (sign-up with GitHub is off on this server)",
                gh.login
            )));
        }
    };
    let user = store
        .get_user(&user_id)
        .await?
        .ok_or_else(|| ApiError::forbidden("the linked agentd user no longer exists"))?;
    if user.disabled_at.is_some() {
        return Err(ApiError::forbidden("the linked agentd user is disabled"));
    }
    Ok((user, action))
}

async fn link(state: &AppState, user_id: &str, gh: &GitHubUser) -> Result<(), ApiError> {
    let record = IdentityRecord {
        provider: PROVIDER.to_owned(),
        subject: gh.id.to_string(),
        user_id: user_id.to_owned(),
        login: gh.login.clone(),
        created_at: accounts::now(),
    };
    match state.manager.store().insert_identity(&record).await {
        Ok(()) => Ok(()),
        // A concurrent callback linked it first.
        Err(StoreError::Conflict(_)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::Conflict,
            format!("GitHub account @{} is linked already", gh.login),
        )),
        Err(e) => Err(e.into()),
    }
}

/// A new member named after the GitHub login (or a variant, if the name is
/// taken or not a valid agentd name), without a password.
async fn sign_up(state: &AppState, gh: &GitHubUser) -> Result<UserRecord, ApiError> {
    let store = state.manager.store();
    let candidates = [
        gh.login.clone(),
        format!("{}-github", gh.login),
        format!("github-{}", gh.id),
    ];
    for name in &candidates {
        match accounts::create_user(store, name, UserRole::Member, None).await {
            Ok(user) => return Ok(user),
            Err(AccountError::Conflict(_) | AccountError::Invalid(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        ErrorCode::Conflict,
        format!("no free user name for GitHub account @{}", gh.login),
    ))
}
