//! The Claude Code settings documents a session is governed by, merged in
//! the documented order: server → owner (`PUT /api/v1/me/settings`) →
//! repository (`.claude/settings.json`, `.claude/settings.local.json`) →
//! session (the create request's `settings`). Permission rules and hooks of
//! every layer apply; a layer that cannot be read is reported and skipped,
//! so one broken file does not stop the session.

use std::path::Path;

use agentd_policy::Settings;
use agentd_store::SessionRecord;
use serde_json::Value;

use crate::error::CoreError;
use crate::manager::Inner;

/// Where the session's own document lives in `runtime_state`.
const KEY: &str = "settings";

/// Parses a settings document from the API, for a clear 400 up front.
pub(crate) fn parse(document: &Value, origin: &str) -> Result<Settings, CoreError> {
    if !document.is_object() {
        return Err(CoreError::Invalid(format!(
            "{origin} must be a JSON object (a Claude Code settings document)"
        )));
    }
    Settings::from_json(&document.to_string(), Path::new(origin))
        .map_err(|e| CoreError::Invalid(e.to_string()))
}

/// The session's document as stored: sealed under the master key when the
/// server has one (HTTP hook headers and hook commands can hold secrets).
pub(crate) fn stored(inner: &Inner, session: &str, document: &Value) -> Result<Value, CoreError> {
    match &inner.config.credentials {
        Some(vault) => Ok(serde_json::json!({
            "sealed": vault.seal_text(session, &document.to_string())?
        })),
        None => Ok(serde_json::json!({ "plain": document })),
    }
}

fn session_document(inner: &Inner, record: &SessionRecord) -> Option<Value> {
    let stored = record.runtime_state.as_ref()?.get(KEY)?;
    if let Some(plain) = stored.get("plain") {
        return Some(plain.clone());
    }
    let sealed = stored.get("sealed")?.as_str()?;
    let text = inner
        .config
        .credentials
        .as_ref()?
        .open_text(&record.id.to_string(), sealed);
    if text.is_none() {
        tracing::warn!(id = %record.id, "the session's settings cannot be decrypted; ignoring them");
    }
    serde_json::from_str(&text?).ok()
}

pub(crate) fn key() -> &'static str {
    KEY
}

/// Every layer, merged (server first).
pub(crate) async fn load(inner: &Inner, record: &SessionRecord) -> Settings {
    let server = Settings {
        permissions: inner.config.permissions.clone(),
        default_mode: None,
        hooks: inner.config.hooks.config.clone(),
    };
    let mut layers = vec![server];
    if let Some(owner) = &record.owner_id {
        match inner
            .store
            .user_settings(inner.config.credentials.as_ref(), owner)
            .await
        {
            Ok(Some(user)) => match Settings::from_json(&user.document, Path::new("user settings"))
            {
                Ok(settings) => layers.push(settings),
                Err(e) => {
                    tracing::warn!(id = %record.id, error = %e, "ignoring the owner's settings")
                }
            },
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(id = %record.id, error = %e, "cannot read the owner's settings")
            }
        }
    }
    match Settings::load_repo(Path::new(&record.workspace_path)) {
        Ok(repo) => layers.push(repo),
        Err(e) => tracing::warn!(id = %record.id, error = %e, "ignoring the repository's settings"),
    }
    if let Some(document) = session_document(inner, record) {
        match Settings::from_json(&document.to_string(), Path::new("session settings")) {
            Ok(settings) => layers.push(settings),
            Err(e) => {
                tracing::warn!(id = %record.id, error = %e, "ignoring the session's settings")
            }
        }
    }
    // `defaultMode` is not taken from any layer: the session's mode was
    // fixed when it was created.
    let mut merged = Settings::merged(layers);
    merged.default_mode = None;
    merged
}
