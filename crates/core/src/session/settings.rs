//! The Claude Code settings documents a session is governed by, merged in
//! the documented order: server → owner (`PUT /api/v1/me/settings`) →
//! repository (`.claude/settings.json`, `.claude/settings.local.json`) →
//! session (the create request's `settings`). Permission rules and hooks of
//! every layer apply; a layer that cannot be read is reported and skipped,
//! so one broken file does not stop the session.

use std::path::Path;

use agentd_policy::Settings;
use agentd_store::{CredentialVault, SessionRecord};
use serde_json::Value;

use crate::config::EngineConfig;
use crate::engine_state::{EngineState, StoredSettings};
use crate::error::CoreError;
use crate::services::Services;
use crate::turn::SettingsLayers;

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
pub(crate) fn stored(
    vault: Option<&CredentialVault>,
    session: &str,
    document: &Value,
) -> Result<StoredSettings, CoreError> {
    match vault {
        Some(vault) => Ok(StoredSettings::Sealed(
            vault.seal_text(session, &document.to_string())?,
        )),
        None => Ok(StoredSettings::Plain(document.clone())),
    }
}

fn session_document(config: &EngineConfig, record: &SessionRecord) -> Option<Value> {
    let text = match EngineState::of(record).settings? {
        StoredSettings::Plain(document) => return Some(document),
        StoredSettings::Sealed(sealed) => config
            .credentials
            .as_ref()?
            .open_text(&record.id.to_string(), &sealed),
    };
    if text.is_none() {
        tracing::warn!(id = %record.id, "the session's settings cannot be decrypted; ignoring them");
    }
    serde_json::from_str(&text?).ok()
}

/// The layers the engine holds: server and owner before the repository's,
/// the session's own after it.
pub(crate) async fn layers(services: &Services, record: &SessionRecord) -> SettingsLayers {
    let config = &services.config;
    let server = Settings {
        permissions: config.permissions.clone(),
        default_mode: None,
        hooks: config.hooks.config.clone(),
    };
    let mut layers = SettingsLayers {
        before_repo: vec![server],
        after_repo: Vec::new(),
    };
    if let Some(owner) = &record.owner_id {
        match services
            .store
            .user_settings(config.credentials.as_ref(), owner)
            .await
        {
            Ok(Some(user)) => match Settings::from_json(&user.document, Path::new("user settings"))
            {
                Ok(settings) => layers.before_repo.push(settings),
                Err(e) => {
                    tracing::warn!(id = %record.id, error = %e, "ignoring the owner's settings");
                }
            },
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(id = %record.id, error = %e, "cannot read the owner's settings");
            }
        }
    }
    if let Some(document) = session_document(config, record) {
        match Settings::from_json(&document.to_string(), Path::new("session settings")) {
            Ok(settings) => layers.after_repo.push(settings),
            Err(e) => {
                tracing::warn!(id = %record.id, error = %e, "ignoring the session's settings");
            }
        }
    }
    layers
}
