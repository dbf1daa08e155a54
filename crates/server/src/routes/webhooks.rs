//! `POST /api/v1/webhooks/github`: GitHub's deliveries. No bearer token:
//! the HMAC-SHA256 signature of the raw body (`X-Hub-Signature-256`, the
//! hook's secret) is the authentication, checked before anything else is
//! read. Each `X-GitHub-Delivery` id is handled once, even across restarts.

use agentd_github::{SIGNATURE_HEADER, WebhookError};
use agentd_protocol::{ErrorBody, ErrorCode, WebhookAck, WebhookOutcome};
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use crate::auth::ClientIp;
use crate::auth::audit::{self, Actor};
use crate::auth::cookies;
use crate::error::ApiError;
use crate::state::AppState;
use agentd_core::WebhookHandled as Handled;

const EVENT_HEADER: &str = "x-github-event";
const DELIVERY_HEADER: &str = "x-github-delivery";
/// Delivery ids are GUIDs; anything much longer is not GitHub's.
const MAX_DELIVERY_ID: usize = 128;

/// A GitHub webhook delivery: `ping`, `issue_comment` and `issues` (start a
/// task on a mention of the handle or the configured label), `pull_request`
/// (closed: the task whose pull request it is ends). Authenticated by the
/// signature, not a token.
#[utoipa::path(post, path = "/api/v1/webhooks/github", tag = "webhooks", security(()),
    params(
        ("X-GitHub-Event" = String, Header, description = "The event name: ping, issue_comment, issues, pull_request, …"),
        ("X-GitHub-Delivery" = String, Header, description = "The delivery's GUID; a repeated one is not handled again"),
        ("X-Hub-Signature-256" = String, Header, description = "`sha256=` and the hex HMAC-SHA256 of the raw body under the hook's secret"),
    ),
    request_body(content = serde_json::Value, description = "GitHub's payload, exactly as signed", content_type = "application/json"),
    responses(
        (status = 200, description = "Handled, a duplicate, or nothing to do", body = WebhookAck),
        (status = 400, description = "Missing event or delivery header, or a payload that does not parse", body = ErrorBody),
        (status = 401, description = "Missing, malformed or wrong signature (`invalid_signature`)", body = ErrorBody),
        (status = 404, description = "Webhooks are off: no secret is configured (`webhook_not_configured`)", body = ErrorBody),
        (status = 503, description = "agentd could not act on it now; GitHub may redeliver", body = ErrorBody),
    ))]
pub(crate) async fn github_webhook(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<WebhookAck>, ApiError> {
    let Some(config) = state.webhooks.clone() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::WebhookNotConfigured,
            "GitHub webhooks are not configured on this server \
             (set AGENTD_GITHUB_WEBHOOK_SECRET)",
        ));
    };
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                format!("the body is larger than {} bytes", crate::MAX_BODY_BYTES),
            )
        } else {
            ApiError::bad_request(ErrorCode::BadRequest, rejection.body_text())
        }
    })?;
    let signature = headers
        .get(SIGNATURE_HEADER)
        .map(|v| v.to_str().unwrap_or_default());
    if let Err(e) = agentd_github::verify_signature(config.secret.as_bytes(), &body, signature) {
        tracing::warn!(ip = ?ip, error = %e, "webhook delivery refused");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidSignature,
            e.to_string(),
        ));
    }
    let event = header(&headers, EVENT_HEADER)?;
    let delivery = header(&headers, DELIVERY_HEADER)?;
    if delivery.len() > MAX_DELIVERY_ID || delivery.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            ErrorCode::ValidationFailed,
            "X-GitHub-Delivery is not a delivery id",
        ));
    }
    let parsed = agentd_github::parse_event(&event, &body).map_err(|e| match e {
        WebhookError::InvalidPayload { .. } => {
            ApiError::bad_request(ErrorCode::ValidationFailed, e.to_string())
        }
        WebhookError::EmptySecret
        | WebhookError::MissingSignature
        | WebhookError::MalformedSignature
        | WebhookError::SignatureMismatch => ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidSignature,
            e.to_string(),
        ),
    })?;
    let store = state.manager.store();
    let actor = Actor {
        id: None,
        name: "github".to_owned(),
        ip,
    };
    let now = crate::auth::accounts::now();
    if !store.claim_webhook_delivery(&delivery, &event, now).await? {
        let handled = Handled {
            outcome: WebhookOutcome::Duplicate,
            task_id: None,
            note: "this delivery was handled before; nothing was done again".to_owned(),
        };
        record(&state, actor, &delivery, &event, &handled).await;
        return Ok(ack(delivery, event, handled));
    }
    let base_url = cookies::external_base(&state.auth.config, &headers).unwrap_or_default();
    match state
        .manager
        .github_delivery(&config, &parsed, &base_url)
        .await
        .map_err(ApiError::from)
    {
        Ok(handled) => {
            record(&state, actor, &delivery, &event, &handled).await;
            Ok(ack(delivery, event, handled))
        }
        Err(error) => {
            if error.status.is_server_error()
                && let Err(e) = store.release_webhook_delivery(&delivery).await
            {
                tracing::warn!(error = %e, "cannot forget a failed webhook delivery");
            }
            let detail = json!({
                "delivery": delivery, "event": event, "outcome": "failed",
                "code": error.code, "note": error.message,
            });
            audit::record(store, actor, "webhook.github", None, detail).await;
            Err(error)
        }
    }
}

fn header(headers: &HeaderMap, name: &str) -> Result<String, ApiError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::bad_request(
                ErrorCode::BadRequest,
                format!("the {name} header is missing"),
            )
        })
}

async fn record(state: &AppState, actor: Actor, delivery: &str, event: &str, handled: &Handled) {
    let detail = json!({
        "delivery": delivery, "event": event,
        "outcome": handled.outcome, "note": handled.note,
    });
    let target = handled.task_id.map(|id| id.to_string());
    state.audit(actor, "webhook.github", target, detail).await;
}

fn ack(delivery: String, event: String, handled: Handled) -> axum::Json<WebhookAck> {
    axum::Json(WebhookAck {
        delivery,
        event,
        outcome: handled.outcome,
        task_id: handled.task_id,
        note: handled.note,
    })
}
