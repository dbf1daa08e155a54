//! `agentd serve` settings for GitHub webhooks and workspace cleanup: flags
//! and `AGENTD_*` environment (clap) over the config file's values over
//! defaults.

use std::time::Duration;

use anyhow::Result;
use clap::Args;
use serde::Deserialize;

use crate::auth_args::SecretArg;
use crate::config::Config;

/// One week: long enough to come back to a session after a weekend.
const DEFAULT_WORKSPACE_TTL_SECS: u64 = 7 * 24 * 3600;
const DEFAULT_CLEANUP_INTERVAL_SECS: u64 = 3600;

/// The config file's `[github_webhooks]` section.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileWebhooks {
    secret: Option<String>,
    handle: Option<String>,
    /// `""` turns the label trigger off.
    label: Option<String>,
    owner: Option<String>,
    permission_mode: Option<agentd_protocol::PermissionMode>,
    clone_url: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct WebhookArgs {
    /// The GitHub webhook's secret; turns on POST /api/v1/webhooks/github
    /// (without one the route answers 404 `webhook_not_configured`).
    #[arg(long, env = "AGENTD_GITHUB_WEBHOOK_SECRET", hide_env_values = true)]
    pub github_webhook_secret: Option<SecretArg>,
    /// The mention that starts a task from a comment (default `@agentd`).
    #[arg(long, env = "AGENTD_GITHUB_WEBHOOK_HANDLE")]
    pub github_webhook_handle: Option<String>,
    /// The issue label that starts a task (default `agentd`; empty: off).
    #[arg(long, env = "AGENTD_GITHUB_WEBHOOK_LABEL")]
    pub github_webhook_label: Option<String>,
    /// The user who owns tasks started by webhooks (default `admin`).
    #[arg(long, env = "AGENTD_GITHUB_WEBHOOK_OWNER")]
    pub github_webhook_owner: Option<String>,
    /// The permission mode of tasks started by webhooks (default `unattended`).
    #[arg(long, env = "AGENTD_GITHUB_WEBHOOK_PERMISSION_MODE")]
    pub github_webhook_permission_mode: Option<agentd_protocol::PermissionMode>,
    /// Where a repository is cloned from, `{owner}`, `{repo}` and
    /// `{full_name}` replaced (default `https://github.com/{owner}/{repo}.git`).
    #[arg(long, env = "AGENTD_GITHUB_CLONE_URL")]
    pub github_clone_url: Option<String>,
}

impl WebhookArgs {
    /// The webhook settings, or `None` when no secret is configured.
    pub fn config(&self, file: &FileWebhooks) -> Result<Option<agentd_server::GitHubWebhooks>> {
        let secret = self
            .github_webhook_secret
            .as_ref()
            .map(|SecretArg(s)| s.clone())
            .or_else(|| file.secret.clone())
            .filter(|s| !s.is_empty());
        let Some(secret) = secret else {
            return Ok(None);
        };
        crate::redact::register(&secret);
        let mut cfg = agentd_server::GitHubWebhooks::new(secret);
        if let Some(handle) = self.github_webhook_handle.clone().or(file.handle.clone()) {
            cfg.handle = handle;
        }
        if let Some(label) = self.github_webhook_label.clone().or(file.label.clone()) {
            cfg.label = Some(label).filter(|l| !l.trim().is_empty());
        }
        if let Some(owner) = self.github_webhook_owner.clone().or(file.owner.clone()) {
            cfg.owner = owner;
        }
        if let Some(mode) = self.github_webhook_permission_mode.or(file.permission_mode) {
            cfg.permission_mode = mode;
        }
        if let Some(url) = self.github_clone_url.clone().or(file.clone_url.clone()) {
            cfg.clone_url = url;
        }
        cfg.github = crate::config::github_settings();
        cfg.validate()
            .map_err(|e| anyhow::anyhow!("invalid GitHub webhook settings: {e}"))?;
        Ok(Some(cfg))
    }
}

#[derive(Args, Debug, Clone)]
pub struct CleanupArgs {
    /// Seconds a finished session's worktree is kept unused before cleanup
    /// removes it (default one week; 0: never). Unsaved work is
    /// checkpointed and kept.
    #[arg(long, env = "AGENTD_WORKSPACE_TTL_SECS")]
    pub workspace_ttl_secs: Option<u64>,
    /// Seconds between cleanup sweeps (default 3600; 0: no cleanup).
    #[arg(long, env = "AGENTD_WORKSPACE_CLEANUP_INTERVAL_SECS")]
    pub workspace_cleanup_interval_secs: Option<u64>,
}

impl CleanupArgs {
    pub fn config(&self, file: &Config) -> agentd_core::WorkspaceCleanup {
        let ttl = self
            .workspace_ttl_secs
            .or(file.workspace_ttl_secs)
            .unwrap_or(DEFAULT_WORKSPACE_TTL_SECS);
        let interval = self
            .workspace_cleanup_interval_secs
            .or(file.workspace_cleanup_interval_secs)
            .unwrap_or(DEFAULT_CLEANUP_INTERVAL_SECS);
        agentd_core::WorkspaceCleanup {
            ttl: Duration::from_secs(ttl),
            interval: Duration::from_secs(interval),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> WebhookArgs {
        WebhookArgs {
            github_webhook_secret: None,
            github_webhook_handle: None,
            github_webhook_label: None,
            github_webhook_owner: None,
            github_webhook_permission_mode: None,
            github_clone_url: None,
        }
    }

    fn file(text: &str) -> FileWebhooks {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn no_secret_means_no_webhooks() {
        assert!(args().config(&FileWebhooks::default()).unwrap().is_none());
        assert!(args().config(&file("secret = \"\"")).unwrap().is_none());
    }

    #[test]
    fn flags_win_over_the_file_which_wins_over_defaults() {
        let from_file = file(
            "secret = \"file-secret-value\"\nhandle = \"@bot\"\nlabel = \"\"\n\
             permission_mode = \"acceptEdits\"\nclone_url = \"file:///git/{full_name}.git\"",
        );
        let cfg = args().config(&from_file).unwrap().unwrap();
        assert_eq!(cfg.secret, "file-secret-value");
        assert_eq!(cfg.handle, "@bot");
        assert_eq!(cfg.label, None, "an empty label turns labels off");
        assert_eq!(cfg.owner, "admin");
        assert_eq!(
            cfg.permission_mode,
            agentd_protocol::PermissionMode::AcceptEdits
        );
        assert_eq!(cfg.clone_url, "file:///git/{full_name}.git");

        let mut flags = args();
        flags.github_webhook_secret = Some(SecretArg("flag-secret-value".into()));
        flags.github_webhook_owner = Some("robot".into());
        flags.github_webhook_label = Some("ai".into());
        let cfg = flags.config(&from_file).unwrap().unwrap();
        assert_eq!(cfg.secret, "flag-secret-value");
        assert_eq!(cfg.owner, "robot");
        assert_eq!(cfg.label.as_deref(), Some("ai"));
        assert_eq!(cfg.handle, "@bot");
    }

    #[test]
    fn unusable_settings_stop_the_start() {
        let err = args()
            .config(&file(
                "secret = \"s3cret-value\"\nclone_url = \"https://x/y.git\"",
            ))
            .unwrap_err();
        assert!(err.to_string().contains("clone URL"), "{err}");
        assert!(toml::from_str::<FileWebhooks>("secrets = \"x\"").is_err());
    }
}
