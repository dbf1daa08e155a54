//! The one gate in front of `/api/v1`: resolves the bearer token (or a
//! ticket on event-stream URLs, or a browser's session cookie after its
//! CSRF checks) to a [`Caller`] and checks its scope against the request. Tokens are looked up on every request, with no
//! cache, so revoking one or disabling a user takes effect at once.

use agentd_protocol::{Scope, UserRole};
use agentd_store::TokenKind;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::cookies::{self, CsrfRefusal};
use super::secret::hash_token;
use super::{AuthConfig, Caller, ClientIp, accounts};
use crate::error::ApiError;
use crate::state::AppState;

const INVALID: &str = "the token is invalid, expired or revoked";
const SESSION_ENDED: &str = "the browser session has expired or was logged out; log in again";

pub(crate) async fn authenticate(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    // agentd's own MCP endpoint takes the API's bearer tokens (no cookies:
    // MCP clients are programs); each tool checks the write scope itself.
    let mcp = path == "/mcp";
    if !mcp && (!path.starts_with("/api/v1/") || is_public(path)) {
        return next.run(req).await;
    }
    let (needed, admin_only) = if mcp {
        (Scope::Read, false)
    } else {
        required(req.method(), path)
    };
    let presented = Presented::of(&req, &state.auth.config);
    if mcp && !matches!(presented, Presented::Bearer(_)) {
        return ApiError::unauthorized("use Authorization: Bearer <token>").into_response();
    }
    let ip = ClientIp::of(req.extensions()).0;
    let caller = match resolve(&state, presented, ip).await {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    if admin_only && caller.role != UserRole::Admin {
        return ApiError::forbidden("this route is for admins").into_response();
    }
    if !caller.scope.allows(needed) {
        return ApiError::forbidden(format!(
            "the token's scope is {}; this request needs {}",
            caller.scope, needed
        ))
        .into_response();
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// Routes that authenticate by other means (login, refresh) or publish the
/// contract.
fn is_public(path: &str) -> bool {
    // A share link's token is its own credential.
    path.starts_with("/api/v1/shared/")
        || matches!(
            path,
            "/api/v1/openapi.json"
                | "/api/v1/auth/login"
                | "/api/v1/auth/refresh"
                | "/api/v1/auth/session"
                | "/api/v1/auth/github/start"
                | "/api/v1/auth/github/callback"
                // Authenticated by its HMAC signature instead.
                | "/api/v1/webhooks/github"
        )
}

/// The scope a request needs, and whether only admins may make it.
fn required(method: &Method, path: &str) -> (Scope, bool) {
    if path == "/api/v1/users"
        || path.starts_with("/api/v1/users/")
        || path.starts_with("/api/v1/admin/")
    {
        return (Scope::Admin, true);
    }
    // Getting a ticket or logging out changes nothing a read-only token
    // could not already see.
    // Rendering Markdown or a diff neither changes nor reveals anything.
    if matches!(
        path,
        "/api/v1/auth/ticket"
            | "/api/v1/auth/logout"
            | "/api/v1/render/markdown"
            | "/api/v1/render/diff"
    ) {
        return (Scope::Read, false);
    }
    match *method {
        Method::GET | Method::HEAD | Method::OPTIONS => (Scope::Read, false),
        _ => (Scope::Write, false),
    }
}

/// Event streams are the only URLs that take a ticket: browsers cannot set
/// headers on EventSource and WebSocket.
fn takes_ticket(method: &Method, path: &str) -> bool {
    if method != Method::GET {
        return false;
    }
    if path == "/api/v1/ws" {
        return true;
    }
    path.strip_prefix("/api/v1/sessions/")
        .and_then(|rest| rest.strip_suffix("/events"))
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

fn ticket_param(req: &Request) -> Option<&str> {
    req.uri()
        .query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("ticket="))
}

/// The credentials a request presents, taken out of it (a `Request` cannot
/// be held across an await in a `Send` future).
enum Presented {
    /// The `Authorization` header; `None` when it is not a bearer token.
    Bearer(Option<String>),
    Ticket(String),
    /// The session cookie, and the outcome of the CSRF checks (which only
    /// state-changing requests need).
    Cookie {
        secret: String,
        csrf: Result<(), CsrfRefusal>,
    },
    Nothing,
}

impl Presented {
    fn of(req: &Request, config: &AuthConfig) -> Self {
        if let Some(value) = req.headers().get(header::AUTHORIZATION) {
            let secret = value
                .to_str()
                .ok()
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            return Self::Bearer(secret);
        }
        if let Some(ticket) = ticket_param(req)
            && takes_ticket(req.method(), req.uri().path())
        {
            return Self::Ticket(ticket.to_owned());
        }
        match cookies::cookie(req.headers(), cookies::SESSION_COOKIE) {
            Some(secret) => Self::Cookie {
                secret: secret.to_owned(),
                csrf: if cookies::changes_state(req.method()) {
                    cookies::check_csrf(config, req.headers(), secret)
                } else if req.uri().path() == "/api/v1/ws"
                    && !cookies::same_origin(config, req.headers())
                {
                    // A WebSocket is a GET that acts: another origin must
                    // not open one with the browser's cookie. (Browsers
                    // always send Origin on WebSocket handshakes.)
                    Err(CsrfRefusal::ForeignOrigin)
                } else {
                    Ok(())
                },
            },
            None => Self::Nothing,
        }
    }
}

async fn resolve(
    state: &AppState,
    presented: Presented,
    ip: Option<std::net::IpAddr>,
) -> Result<Caller, ApiError> {
    let store = state.manager.store();
    let now = accounts::now();
    let token = if let Presented::Cookie { secret, csrf } = presented {
        let token = store
            .token_by_hash(&hash_token(&secret))
            .await?
            .filter(|t| t.kind == TokenKind::Web && t.is_live(now))
            .ok_or_else(|| ApiError::unauthorized(SESSION_ENDED))?;
        csrf.map_err(|refusal| ApiError::forbidden(refusal.message()))?;
        token
    } else if let Presented::Bearer(secret) = presented {
        let secret =
            secret.ok_or_else(|| ApiError::unauthorized("use Authorization: Bearer <token>"))?;
        store
            .token_by_hash(&hash_token(&secret))
            .await?
            .filter(|t| matches!(t.kind, TokenKind::Pat | TokenKind::Access) && t.is_live(now))
            .ok_or_else(|| ApiError::unauthorized(INVALID))?
    } else if let Presented::Ticket(ticket) = presented {
        store
            .consume_token(&hash_token(&ticket), TokenKind::Ticket, now)
            .await?
            .ok_or_else(|| ApiError::unauthorized("the ticket is invalid, used or expired"))?
    } else {
        return Err(ApiError::unauthorized(
            "authentication required: send Authorization: Bearer <token> or log in",
        ));
    };
    let user = store
        .get_user(&token.user_id)
        .await?
        .filter(|u| u.disabled_at.is_none())
        .ok_or_else(|| ApiError::unauthorized(INVALID))?;
    // Awaited rather than spawned so a listing right after a use shows it;
    // `should_touch` keeps this to one write per token a minute.
    if token.kind != TokenKind::Ticket
        && state.auth.should_touch(&token.id)
        && let Err(e) = store.touch_token(&token.id, now).await
    {
        tracing::debug!(error = %e, "cannot record token use");
    }
    Ok(Caller {
        user_id: user.id,
        name: user.name,
        role: user.role,
        // A user whose role was lowered keeps no more than the new role
        // allows, whatever the token was issued with.
        scope: token.scope.min(user.role.max_scope()),
        token_id: token.id,
        kind: token.kind,
        family: token.family,
        ip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_method_and_path() {
        assert_eq!(
            required(&Method::GET, "/api/v1/sessions"),
            (Scope::Read, false)
        );
        assert_eq!(
            required(&Method::POST, "/api/v1/sessions"),
            (Scope::Write, false)
        );
        assert_eq!(
            required(&Method::DELETE, "/api/v1/tokens/x"),
            (Scope::Write, false)
        );
        assert_eq!(
            required(&Method::GET, "/api/v1/users"),
            (Scope::Admin, true)
        );
        assert_eq!(
            required(&Method::POST, "/api/v1/users/u/unlock"),
            (Scope::Admin, true)
        );
        assert_eq!(
            required(&Method::POST, "/api/v1/auth/ticket"),
            (Scope::Read, false)
        );
    }

    #[test]
    fn only_event_streams_take_tickets() {
        assert!(takes_ticket(&Method::GET, "/api/v1/ws"));
        assert!(takes_ticket(&Method::GET, "/api/v1/sessions/abc/events"));
        assert!(!takes_ticket(&Method::GET, "/api/v1/sessions/abc"));
        assert!(!takes_ticket(&Method::GET, "/api/v1/sessions/a/b/events"));
        assert!(!takes_ticket(&Method::POST, "/api/v1/ws"));
        assert!(!takes_ticket(&Method::GET, "/api/v1/tokens"));
    }
}
