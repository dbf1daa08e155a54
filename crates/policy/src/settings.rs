//! Claude Code–format settings files and how layers of them merge.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use agentd_protocol::PermissionMode;
use serde::Deserialize;

use crate::evaluate::PermissionSet;
use crate::hooks::HooksConfig;
use crate::hooks::config::RawGroup;
use crate::rule::{Rule, RuleParseError};

/// One settings layer (or several merged).
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub permissions: PermissionSet,
    /// `permissions.defaultMode`. Claude Code's `dontAsk` reads as
    /// `unattended`; values agentd lacks (`auto`) are ignored. A repository
    /// can write anything here, so callers decide whether a layer may raise
    /// the session's mode.
    pub default_mode: Option<PermissionMode>,
    pub hooks: HooksConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not valid JSON (line {line}, column {column}): {message}", path.display())]
    InvalidJson {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{} has an unexpected shape: {message}", path.display())]
    InvalidShape { path: PathBuf, message: String },
    #[error("{}: permissions.{list}: {source}", path.display())]
    InvalidRule {
        path: PathBuf,
        list: &'static str,
        #[source]
        source: RuleParseError,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawSettings {
    permissions: RawPermissions,
    hooks: BTreeMap<String, Vec<RawGroup>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawPermissions {
    allow: Vec<String>,
    ask: Vec<String>,
    deny: Vec<String>,
    default_mode: Option<String>,
}

impl Settings {
    /// Parses one settings document; `origin` names it in errors. Unknown keys
    /// are ignored. An invalid rule fails the whole file: skipping it could
    /// silently drop a deny.
    pub fn from_json(text: &str, origin: &Path) -> Result<Self, SettingsError> {
        let raw: RawSettings = serde_json::from_str(text).map_err(|e| {
            if e.is_data() {
                SettingsError::InvalidShape {
                    path: origin.to_owned(),
                    message: e.to_string(),
                }
            } else {
                SettingsError::InvalidJson {
                    path: origin.to_owned(),
                    line: e.line(),
                    column: e.column(),
                    message: e.to_string(),
                }
            }
        })?;
        let rules = |list: &'static str, texts: Vec<String>| {
            texts
                .iter()
                .map(|t| Rule::parse(t))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|source| SettingsError::InvalidRule {
                    path: origin.to_owned(),
                    list,
                    source,
                })
        };
        let permissions = PermissionSet {
            allow: rules("allow", raw.permissions.allow)?,
            ask: rules("ask", raw.permissions.ask)?,
            deny: rules("deny", raw.permissions.deny)?,
        };
        let default_mode = raw
            .permissions
            .default_mode
            .and_then(|mode| match mode.as_str() {
                "dontAsk" => Some(PermissionMode::Unattended),
                other => PermissionMode::from_str(other).ok(),
            });
        let hooks =
            HooksConfig::from_raw(raw.hooks).map_err(|message| SettingsError::InvalidShape {
                path: origin.to_owned(),
                message,
            })?;
        Ok(Self {
            permissions,
            default_mode,
            hooks,
        })
    }

    /// Reads a settings file; `Ok(None)` when it does not exist.
    pub fn load_file(path: &Path) -> Result<Option<Self>, SettingsError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_json(&text, path).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(SettingsError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// The repository's settings: `<workspace>/.claude/settings.json` then
    /// `<workspace>/.claude/settings.local.json`, merged; empty when neither exists.
    pub fn load_repo(workspace: &Path) -> Result<Self, SettingsError> {
        let dir = workspace.join(".claude");
        let layers = [
            Self::load_file(&dir.join("settings.json"))?,
            Self::load_file(&dir.join("settings.local.json"))?,
        ];
        Ok(Self::merged(layers.into_iter().flatten()))
    }

    /// Merges layers given lowest first; agentd's order is server → user →
    /// repository (`settings.json`, then `settings.local.json`) → session.
    /// Rule lists and hooks are concatenated (deny → ask → allow precedence
    /// makes their order irrelevant to decisions); `default_mode` comes from
    /// the last layer that sets it.
    pub fn merged(layers: impl IntoIterator<Item = Settings>) -> Self {
        let mut out = Self::default();
        for layer in layers {
            out.permissions.extend(layer.permissions);
            out.default_mode = layer.default_mode.or(out.default_mode);
            out.hooks.extend(layer.hooks);
        }
        out
    }
}
