//! `/api/v1/credentials`: the caller's own Anthropic, OpenAI and GitHub keys
//! ("bring your own key"). Secrets go in and never come out: listings show
//! the provider, the last four characters and when the key was set.

use agentd_protocol::{
    CredentialList, CredentialProvider, CredentialView, ErrorBody, ErrorCode, PutCredentialRequest,
};
use agentd_store::{CredentialVault, Secret};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::json;

use crate::auth::Caller;
use crate::auth::accounts;
use crate::auth::audit::Actor;
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

const MAX_SECRET_BYTES: usize = 8 * 1024;

fn vault(state: &AppState) -> Result<&CredentialVault, ApiError> {
    state.vault.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            "this server has no master key, so it cannot store credentials",
        )
    })
}

fn provider(raw: &str) -> Result<CredentialProvider, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::not_found(format!(
            "unknown credential provider {raw:?}; use anthropic, openai or github"
        ))
    })
}

/// A key is one printable token: no spaces, newlines or control characters
/// (a pasted key with a trailing newline is trimmed instead of refused).
fn validate(secret: &str) -> Result<Secret, ApiError> {
    let secret = secret.trim();
    let ok = !secret.is_empty()
        && secret.len() <= MAX_SECRET_BYTES
        && !secret.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(Secret::new(secret))
    } else {
        Err(ApiError::bad_request(
            ErrorCode::ValidationFailed,
            format!(
                "a secret is 1 to {MAX_SECRET_BYTES} bytes without spaces or control characters"
            ),
        ))
    }
}

/// The caller's stored credentials (never the secrets).
#[utoipa::path(get, path = "/api/v1/credentials", tag = "credentials",
    responses(
        (status = 200, description = "The caller's credentials", body = CredentialList),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub(crate) async fn list_credentials(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<CredentialList>, ApiError> {
    let credentials = vault(&state)?.list(&caller.user_id).await?;
    Ok(axum::Json(CredentialList { credentials }))
}

/// Store (or replace) the caller's key for a provider, encrypted at rest.
/// Sessions of this user then use it instead of the server's key.
#[utoipa::path(put, path = "/api/v1/credentials/{provider}", tag = "credentials",
    params(("provider" = CredentialProvider, Path, description = "anthropic, openai or github")),
    request_body = PutCredentialRequest,
    responses(
        (status = 200, description = "Stored", body = CredentialView),
        (status = 400, description = "Invalid secret", body = ErrorBody),
        (status = 404, description = "Unknown provider", body = ErrorBody),
    ))]
pub(crate) async fn put_credential(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Json(req): Json<PutCredentialRequest>,
) -> Result<axum::Json<CredentialView>, ApiError> {
    let provider = provider(&raw)?;
    let secret = validate(&req.secret)?;
    let view = vault(&state)?
        .put(&caller.user_id, provider, &secret, accounts::now())
        .await?;
    state
        .audit(
            Actor::from(&caller),
            "credential.set",
            Some(caller.user_id.clone()),
            json!({"provider": provider}),
        )
        .await;
    Ok(axum::Json(view))
}

/// Forget the caller's key for a provider.
#[utoipa::path(delete, path = "/api/v1/credentials/{provider}", tag = "credentials",
    params(("provider" = CredentialProvider, Path, description = "anthropic, openai or github")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such credential", body = ErrorBody),
    ))]
pub(crate) async fn delete_credential(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    let provider = provider(&raw)?;
    if !vault(&state)?.delete(&caller.user_id, provider).await? {
        return Err(ApiError::not_found(format!(
            "no {provider} credential stored"
        )));
    }
    state
        .audit(
            Actor::from(&caller),
            "credential.delete",
            Some(caller.user_id.clone()),
            json!({"provider": provider}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
