//! Authentication and authorization: every `/api/v1` request except login,
//! refresh, GitHub sign-in and the OpenAPI document carries a bearer token,
//! a browser session cookie (with the CSRF checks of [`cookies`]) or, for
//! event streams, a single-use ticket; [`middleware::authenticate`] resolves
//! it to a [`Caller`] and enforces its scope, handlers check ownership.

pub mod cookies;
pub mod github;
pub(crate) mod login;
pub(crate) mod middleware;
pub mod throttle;

// The account rules are `agentd-accounts`'; the server names them where
// its routes always have.
pub(crate) use agentd_accounts::{accounts, audit, secret};

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use agentd_core::Reach;
use agentd_protocol::{Scope, UserRole};
use agentd_store::TokenKind;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

pub use throttle::LoginPolicy;

use crate::error::ApiError;

/// Lifetimes of issued credentials and the login policy.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// Access tokens from a login (default 15 minutes).
    pub access_ttl: Duration,
    /// Refresh tokens (default 30 days).
    pub refresh_ttl: Duration,
    /// Tickets for EventSource/WebSocket URLs (default 60 s).
    pub ticket_ttl: Duration,
    /// Browser sessions (the `agentd_session` cookie; default 7 days).
    pub web_session_ttl: Duration,
    pub login: LoginPolicy,
    /// Trust `X-Forwarded-Proto`/`X-Forwarded-Host` from a reverse proxy.
    pub behind_proxy: bool,
    /// The URL browsers use to reach agentd (`https://agents.example.com`):
    /// an accepted Origin, and the base of the OAuth redirect URI.
    pub public_url: Option<String>,
    /// GitHub sign-in; `None` turns its routes off.
    pub github: Option<github::GitHubOAuth>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            ticket_ttl: Duration::from_secs(60),
            web_session_ttl: Duration::from_secs(7 * 24 * 3600),
            login: LoginPolicy::default(),
            behind_proxy: false,
            public_url: None,
            github: None,
        }
    }
}

/// Shared authentication state of a server.
#[derive(Debug, Default)]
pub struct AuthState {
    pub config: AuthConfig,
    pub(crate) ips: throttle::IpThrottle,
    /// When each token's `last_used_at` was last written, so a busy token
    /// costs one write a minute, not one per request.
    touched: Mutex<HashMap<String, Instant>>,
}

const TOUCH_EVERY: Duration = Duration::from_secs(60);

impl AuthState {
    pub fn new(config: AuthConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// True when `last_used_at` of this token is due for a write.
    pub(crate) fn should_touch(&self, token_id: &str) -> bool {
        let now = Instant::now();
        let mut touched = self.touched.lock().unwrap_or_else(PoisonError::into_inner);
        if touched.len() > 100_000 {
            touched.retain(|_, at| now.duration_since(*at) < TOUCH_EVERY);
        }
        match touched.get(token_id) {
            Some(at) if now.duration_since(*at) < TOUCH_EVERY => false,
            _ => {
                touched.insert(token_id.to_owned(), now);
                true
            }
        }
    }
}

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user_id: String,
    pub name: String,
    pub role: UserRole,
    /// What the presented credential allows.
    pub scope: Scope,
    pub token_id: String,
    pub kind: TokenKind,
    pub family: Option<String>,
    pub ip: Option<IpAddr>,
}

impl Caller {
    /// The sessions this caller may reach: all for admins, their own for
    /// members.
    pub fn reach(&self) -> Reach<'_> {
        match self.role {
            UserRole::Admin => Reach::All,
            UserRole::Member => Reach::OwnedBy(&self.user_id),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == UserRole::Admin
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // The middleware puts it there on every protected route; a handler
        // asking for it on a public route is a bug, answered as anonymous.
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("authentication required"))
    }
}

/// The client's address as the socket saw it (no proxy headers are trusted).
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    pub(crate) fn of(extensions: &axum::http::Extensions) -> Self {
        Self(
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(&parts.extensions))
    }
}

impl From<&Caller> for audit::Actor {
    fn from(c: &Caller) -> Self {
        Self {
            id: Some(c.user_id.clone()),
            name: c.name.clone(),
            ip: c.ip,
        }
    }
}
