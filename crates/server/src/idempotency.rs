//! `Idempotency-Key` on the POSTs that create work (`/api/v1/sessions`,
//! `/api/v1/sessions/{id}/messages`, `/api/v1/tasks`): the first successful
//! response is kept per user for 24 hours and replayed to any retry with the
//! same key, so a client that lost the answer (the web UI's offline outbox,
//! a dropped connection) can send again without creating a second session,
//! message or task.
//!
//! Runs after authentication (keys are per user). The key is claimed in the
//! store before the handler runs, so two concurrent requests with one key
//! cannot both act: the second gets 409 while the first runs. A failed
//! request (any non-2xx) releases the key, so a retry is a fresh attempt.

use agentd_protocol::ErrorCode;
use agentd_store::{IdempotencyClaim, StoredResponse};
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::MAX_BODY_BYTES;
use crate::auth::{Caller, accounts};
use crate::error::ApiError;
use crate::state::AppState;

pub const HEADER: &str = "idempotency-key";
/// Set on a response that is a replay of the first one.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// How long a key is remembered.
const KEEP: time::Duration = time::Duration::hours(24);
const MAX_KEY_LEN: usize = 255;

pub(crate) async fn idempotent(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if !applies(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get(HEADER) else {
        return next.run(req).await;
    };
    let key = match valid_key(key) {
        Ok(key) => key,
        Err(e) => return e.into_response(),
    };
    // Authentication ran first; without a caller it already answered.
    let Some(user_id) = req.extensions().get::<Caller>().map(|c| c.user_id.clone()) else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("the body is larger than {MAX_BODY_BYTES} bytes"),
        )
        .into_response();
    };
    let hash = request_hash(&parts.method, parts.uri.path(), &bytes);
    let store = state.manager.store();
    let now = accounts::now();
    let claim = match store
        .claim_idempotency_key(&user_id, &key, &hash, now, now - KEEP)
        .await
    {
        Ok(claim) => claim,
        Err(e) => return ApiError::from(e).into_response(),
    };
    match claim {
        IdempotencyClaim::Claimed => {}
        IdempotencyClaim::InProgress { request_hash } if request_hash == hash => {
            return ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::Conflict,
                "a request with this Idempotency-Key is still being processed; retry shortly",
            )
            .into_response();
        }
        IdempotencyClaim::InProgress { .. } => return reused().into_response(),
        IdempotencyClaim::Done(stored) if stored.request_hash == hash => return replay(stored),
        IdempotencyClaim::Done(_) => return reused().into_response(),
    }

    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if !response.status().is_success() {
        if let Err(e) = store.release_idempotency_key(&user_id, &key).await {
            tracing::warn!(error = %e, "cannot release an idempotency key");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY_BYTES).await else {
        tracing::warn!("response too large to keep for its idempotency key");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let text = String::from_utf8_lossy(&body);
    if let Err(e) = store
        .complete_idempotency_key(&user_id, &key, parts.status.as_u16(), content_type, &text)
        .await
    {
        // The work is done; the client gets its answer. A retry would find
        // the key still claimed (409) until it expires, never a duplicate.
        tracing::warn!(error = %e, "cannot keep the response of an idempotency key");
    }
    Response::from_parts(parts, Body::from(body))
}

/// The routes that honour the header: the POSTs that create something.
fn applies(method: &Method, path: &str) -> bool {
    if method != Method::POST {
        return false;
    }
    if matches!(path, "/api/v1/sessions" | "/api/v1/tasks") {
        return true;
    }
    path.strip_prefix("/api/v1/sessions/")
        .and_then(|rest| rest.strip_suffix("/messages"))
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

fn valid_key(value: &HeaderValue) -> Result<String, ApiError> {
    let invalid = || {
        ApiError::bad_request(
            ErrorCode::ValidationFailed,
            format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
        )
    };
    let key = value.to_str().map_err(|_| invalid())?.trim();
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid());
    }
    Ok(key.to_owned())
}

fn request_hash(method: &Method, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update(b"\0");
    h.update(path.as_bytes());
    h.update(b"\0");
    h.update(body);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn reused() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::IdempotencyKeyReused,
        "this Idempotency-Key was already used for a different request",
    )
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    let headers = response.headers_mut();
    if let Some(ct) = stored
        .content_type
        .and_then(|ct| HeaderValue::from_str(&ct).ok())
    {
        headers.insert(header::CONTENT_TYPE, ct);
    }
    headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_creating_posts_take_a_key() {
        assert!(applies(&Method::POST, "/api/v1/sessions"));
        assert!(applies(&Method::POST, "/api/v1/tasks"));
        assert!(applies(&Method::POST, "/api/v1/sessions/abc/messages"));
        assert!(!applies(&Method::GET, "/api/v1/sessions"));
        assert!(!applies(&Method::POST, "/api/v1/sessions/abc/cancel"));
        assert!(!applies(&Method::POST, "/api/v1/sessions/a/b/messages"));
    }

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert!(valid_key(&HeaderValue::from_static("outbox-01J9")).is_ok());
        assert!(valid_key(&HeaderValue::from_static("")).is_err());
        assert!(valid_key(&HeaderValue::from_static("has space")).is_err());
        let long = "k".repeat(MAX_KEY_LEN + 1);
        assert!(valid_key(&HeaderValue::from_str(&long).unwrap()).is_err());
    }

    #[test]
    fn the_hash_covers_path_and_body() {
        let a = request_hash(&Method::POST, "/api/v1/sessions", b"{}");
        assert_eq!(a, request_hash(&Method::POST, "/api/v1/sessions", b"{}"));
        assert_ne!(a, request_hash(&Method::POST, "/api/v1/tasks", b"{}"));
        assert_ne!(a, request_hash(&Method::POST, "/api/v1/sessions", b"{ }"));
    }
}
