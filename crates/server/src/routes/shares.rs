//! Share links: `/api/v1/sessions/{id}/shares` (create, list, revoke; the
//! session's owner and admins) and `/api/v1/shared/{token}`, the anonymous,
//! download-only face of one link.
//!
//! A link names one file by its path, carries 256 random bits
//! (`agentd_sh_…`) of which only the SHA-256 is stored, and is checked on
//! every download: revoked, expired, the session or its creator's account
//! gone or disabled, and the link stops working at once. The path is
//! resolved again at each download, so a symlink swapped in later cannot
//! lead it out of the workspace.

use std::path::Path;

use agentd_files::{RelPath, Tree};
use agentd_protocol::ids::prefixed_id;
use agentd_protocol::{CreateShareRequest, CreatedShare, ErrorBody, ErrorCode, ShareList};
use agentd_store::ShareRecord;
use axum::extract::State;
use axum::extract::rejection::PathRejection;
use axum::http::StatusCode;
use axum::response::Response;
use rand::Rng;
use serde_json::json;

use super::download::{self, Disposition};
use crate::auth::accounts;
use crate::auth::audit::{self, Actor};
use crate::auth::secret::hash_token;
use crate::error::ApiError;
use crate::extract::{Json, OwnedSession};
use crate::state::AppState;

const TOKEN_PREFIX: &str = "agentd_sh_";
const MIN_EXPIRY_SECS: u64 = 1;
const MAX_EXPIRY_SECS: u64 = 30 * 24 * 3600;
const DEFAULT_EXPIRY_SECS: u64 = 24 * 3600;

/// Create a download link for one file of the workspace. The URL (with its
/// token) is shown only now.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/shares", tag = "files",
    params(("id" = String, Path, description = "Session id")),
    request_body = CreateShareRequest,
    responses(
        (status = 201, description = "The link", body = CreatedShare),
        (status = 400, description = "Invalid request, or a path outside the workspace, into .git or not a file", body = ErrorBody),
        (status = 404, description = "No such session or file", body = ErrorBody),
    ))]
pub(crate) async fn create_share(
    State(state): State<AppState>,
    session: OwnedSession,
    Json(req): Json<CreateShareRequest>,
) -> Result<(StatusCode, axum::Json<CreatedShare>), ApiError> {
    let secs = req.expires_in_secs.unwrap_or(DEFAULT_EXPIRY_SECS);
    if !(MIN_EXPIRY_SECS..=MAX_EXPIRY_SECS).contains(&secs) {
        return Err(ApiError::bad_request(
            ErrorCode::ValidationFailed,
            format!("expires_in_secs is {MIN_EXPIRY_SECS} to {MAX_EXPIRY_SECS}"),
        ));
    }
    let rel = RelPath::parse(&req.path)?;
    let tree = Tree::open(Path::new(&session.view.workspace_path))?;
    // Only an existing regular file can be shared.
    agentd_files::open_file(&tree, &rel).await?;
    let token = new_token();
    let now = accounts::now();
    let record = ShareRecord {
        id: prefixed_id("sh"),
        session_id: session.id,
        path: rel.as_str().to_owned(),
        token_hash: hash_token(&token),
        created_by: session.caller.user_id.clone(),
        created_at: now,
        expires_at: now + time::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX)),
        revoked_at: None,
    };
    let store = state.manager.store();
    store.insert_share(&record).await?;
    audit::record(
        store,
        Actor::from(&session.caller),
        "share.create",
        Some(record.id.clone()),
        json!({
            "session": session.id.to_string(),
            "path": record.path,
            "expires_at": record.expires_at.unix_timestamp(),
        }),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedShare {
            id: record.id,
            path: record.path,
            url: format!("/api/v1/shared/{token}"),
            expires_at: record.expires_at,
        }),
    ))
}

/// The session's links, newest first, with revoked and expired ones.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/shares", tag = "files",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, description = "The links (without their tokens)", body = ShareList),
        (status = 404, description = "No such session", body = ErrorBody),
    ))]
pub(crate) async fn list_shares(
    State(state): State<AppState>,
    session: OwnedSession,
) -> Result<axum::Json<ShareList>, ApiError> {
    let shares = state.manager.store().list_shares(session.id).await?;
    Ok(axum::Json(ShareList {
        shares: shares.iter().map(ShareRecord::view).collect(),
    }))
}

/// Revoke a link at once. Its creator or an admin may.
#[utoipa::path(delete, path = "/api/v1/sessions/{id}/shares/{share_id}", tag = "files",
    params(
        ("id" = String, Path, description = "Session id"),
        ("share_id" = String, Path, description = "Share id"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "Someone else's link", body = ErrorBody),
        (status = 404, description = "No such session or link", body = ErrorBody),
    ))]
pub(crate) async fn revoke_share(
    State(state): State<AppState>,
    session: OwnedSession,
    ids: Result<axum::extract::Path<(String, String)>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let axum::extract::Path((_, share_id)) =
        ids.map_err(|e| ApiError::bad_request(ErrorCode::BadRequest, e.body_text()))?;
    let store = state.manager.store();
    let share = store
        .get_share(session.id, &share_id)
        .await?
        .ok_or_else(|| ApiError::not_found("share not found"))?;
    let caller = &session.caller;
    if share.created_by != caller.user_id && !caller.is_admin() {
        return Err(ApiError::forbidden(
            "only the link's creator or an admin may revoke it",
        ));
    }
    store.revoke_share(&share.id, accounts::now()).await?;
    audit::record(
        store,
        Actor::from(caller),
        "share.revoke",
        Some(share.id.clone()),
        json!({"session": session.id.to_string(), "path": share.path}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Download the file behind a link; no credentials needed. `404` for an
/// unknown or revoked link, `410` once it has expired.
#[utoipa::path(get, path = "/api/v1/shared/{token}", tag = "files", security(()),
    params(("token" = String, Path, description = "The token from the link's URL")),
    responses(
        (status = 200, description = "The file. Its type follows the name's extension: text is `text/plain; charset=utf-8` (never HTML or SVG), a few inert image formats and PDF are named, the rest is `application/octet-stream`",
            content(
                ("application/octet-stream"),
                ("text/plain"),
                ("image/png"),
                ("image/jpeg"),
                ("image/gif"),
                ("image/webp"),
                ("application/pdf"),
            )),
        (status = 404, description = "No such link, or revoked", body = ErrorBody),
        (status = 410, description = "The link has expired", body = ErrorBody),
    ))]
pub(crate) async fn download_shared(
    State(state): State<AppState>,
    token: Result<axum::extract::Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let gone = || ApiError::not_found("no such link, or it was revoked");
    let axum::extract::Path(token) = token.map_err(|_| gone())?;
    if !token.starts_with(TOKEN_PREFIX) {
        return Err(gone());
    }
    let store = state.manager.store();
    let share = store
        .share_by_hash(&hash_token(&token))
        .await?
        .filter(|s| s.revoked_at.is_none())
        .ok_or_else(gone)?;
    if share.expires_at <= accounts::now() {
        return Err(ApiError::new(
            StatusCode::GONE,
            ErrorCode::ShareExpired,
            "the link has expired",
        ));
    }
    let creator = store.get_user(&share.created_by).await?;
    if creator.is_none_or(|u| u.disabled_at.is_some()) {
        return Err(gone());
    }
    let session = match state.manager.get_session(share.session_id).await {
        Ok(view) => view,
        Err(agentd_core::CoreError::NotFound) => return Err(gone()),
        Err(e) => return Err(e.into()),
    };
    let tree = Tree::open(Path::new(&session.workspace_path))?;
    let opened = agentd_files::open_file(&tree, &RelPath::parse(&share.path)?).await?;
    Ok(download::file_response(opened, Disposition::Attachment))
}

/// `agentd_sh_` and 32 random bytes in hex.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let mut token = String::with_capacity(TOKEN_PREFIX.len() + 64);
    token.push_str(TOKEN_PREFIX);
    for b in bytes {
        token.push_str(&format!("{b:02x}"));
    }
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_and_random() {
        let (a, b) = (new_token(), new_token());
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert_ne!(a, b);
    }
}
