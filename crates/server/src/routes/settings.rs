//! `/api/v1/me/settings`: the caller's own Claude Code settings document
//! (`hooks`, `permissions`), applied to all their sessions after the
//! server's settings and before the repository's and the session's.
//!
//! The document is encrypted at rest when the server has a master key
//! (hook commands and HTTP hook headers can hold secrets); HTTP hook header
//! values are write-only and come back as `"***"`.

use agentd_protocol::{ErrorBody, ErrorCode, PutUserSettingsRequest, UserSettingsView};
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::auth::accounts;
use crate::auth::audit::Actor;
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

/// Largest document accepted.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
const REDACTED: &str = "***";

/// The caller's settings document (`{}` when they stored none).
#[utoipa::path(get, path = "/api/v1/me/settings", tag = "settings",
    responses(
        (status = 200, description = "The caller's settings", body = UserSettingsView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub(crate) async fn get_settings(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<UserSettingsView>, ApiError> {
    let stored = state
        .manager
        .store()
        .user_settings(state.vault.as_ref(), &caller.user_id)
        .await?;
    Ok(axum::Json(match stored {
        Some(stored) => {
            let mut settings: Value =
                serde_json::from_str(&stored.document).unwrap_or_else(|_| json!({}));
            redact_headers(&mut settings, |_| REDACTED.into());
            UserSettingsView {
                settings,
                encrypted: stored.sealed,
                updated_at: Some(stored.updated_at),
            }
        }
        None => UserSettingsView {
            settings: json!({}),
            encrypted: state.vault.is_some(),
            updated_at: None,
        },
    }))
}

/// Replace the caller's settings document. Invalid rules or hook matchers
/// are refused as a whole, so a typo cannot silently drop a deny.
#[utoipa::path(put, path = "/api/v1/me/settings", tag = "settings",
    request_body = PutUserSettingsRequest,
    responses(
        (status = 200, description = "Stored", body = UserSettingsView),
        (status = 400, description = "Not a valid settings document", body = ErrorBody),
        (status = 503, description = "HTTP hook headers need a master key", body = ErrorBody),
    ))]
pub(crate) async fn put_settings(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<PutUserSettingsRequest>,
) -> Result<axum::Json<UserSettingsView>, ApiError> {
    let document = req.settings.to_string();
    if document.len() > MAX_DOCUMENT_BYTES {
        return Err(ApiError::bad_request(
            ErrorCode::ValidationFailed,
            format!("the settings document is larger than {MAX_DOCUMENT_BYTES} bytes"),
        ));
    }
    agentd_core::check_settings(&req.settings)?;
    let mut headers = 0;
    let mut probe = req.settings.clone();
    redact_headers(&mut probe, |_| {
        headers += 1;
        REDACTED.into()
    });
    if headers > 0 && state.vault.is_none() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            "this server has no master key, so it cannot store HTTP hook headers",
        ));
    }
    let now = accounts::now();
    state
        .manager
        .store()
        .put_user_settings(state.vault.as_ref(), &caller.user_id, &document, now)
        .await?;
    state
        .audit(
            Actor::from(&caller),
            "settings.set",
            Some(caller.user_id.clone()),
            json!({"hook_events": hook_events(&req.settings)}),
        )
        .await;
    Ok(axum::Json(UserSettingsView {
        settings: probe,
        encrypted: state.vault.is_some(),
        updated_at: Some(now),
    }))
}

/// The events a document configures hooks for (for the audit log).
fn hook_events(settings: &Value) -> Vec<String> {
    settings
        .get("hooks")
        .and_then(Value::as_object)
        .map(|hooks| hooks.keys().cloned().collect())
        .unwrap_or_default()
}

/// Replaces every HTTP hook header value (`hooks.<event>[].hooks[].headers`).
fn redact_headers(settings: &mut Value, mut with: impl FnMut(&str) -> String) {
    let Some(events) = settings.get_mut("hooks").and_then(Value::as_object_mut) else {
        return;
    };
    for groups in events.values_mut().filter_map(Value::as_array_mut) {
        for group in groups {
            let Some(hooks) = group.get_mut("hooks").and_then(Value::as_array_mut) else {
                continue;
            };
            for hook in hooks {
                let Some(headers) = hook.get_mut("headers").and_then(Value::as_object_mut) else {
                    continue;
                };
                for value in headers.values_mut() {
                    *value = Value::String(with(value.as_str().unwrap_or_default()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_are_redacted_everywhere() {
        let mut doc = json!({"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [
            {"type": "http", "url": "https://h", "headers": {"Authorization": "Bearer s3cret"}},
            {"type": "command", "command": "true"}
        ]}]}});
        redact_headers(&mut doc, |_| REDACTED.into());
        assert!(!doc.to_string().contains("s3cret"));
        assert_eq!(
            doc["hooks"]["PreToolUse"][0]["hooks"][0]["headers"]["Authorization"],
            "***"
        );
    }
}
