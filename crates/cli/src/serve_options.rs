//! `agentd serve` settings for GitHub webhooks, workspace cleanup,
//! connections and shutdown: flags
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

#[derive(Args, Debug, Clone, Default)]
pub struct ConnectionArgs {
    /// Seconds a client may take to send a request's line and headers;
    /// also how long an idle keep-alive connection stays open (default 10).
    #[arg(long, env = "AGENTD_HEADER_TIMEOUT_SECS")]
    pub header_timeout_secs: Option<u64>,
    /// Longest gap, in seconds, between two pieces of a request body
    /// (default 30).
    #[arg(long, env = "AGENTD_BODY_TIMEOUT_SECS")]
    pub body_timeout_secs: Option<u64>,
    /// Open connections at most (default 4096, and never more than the
    /// open-file limit allows).
    #[arg(long, env = "AGENTD_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Connections per client address that have not sent a request yet;
    /// over it the oldest of them is closed (default 64).
    #[arg(long, env = "AGENTD_MAX_IDLE_CONNECTIONS_PER_ADDRESS")]
    pub max_idle_connections_per_address: Option<usize>,
    /// Seconds `serve` takes at most to stop after SIGTERM or Ctrl-C,
    /// whatever is still running (default 10).
    #[arg(long, env = "AGENTD_SHUTDOWN_TIMEOUT_SECS")]
    pub shutdown_timeout_secs: Option<u64>,
    /// Milliseconds one Markdown or diff render may take before it is
    /// answered `422 too_complex` (default 2000).
    #[arg(long, env = "AGENTD_RENDER_TIMEOUT_MS")]
    pub render_timeout_ms: Option<u64>,
}

/// File descriptors kept for everything that is not a client connection:
/// the database, workspaces, sandboxes, MCP servers, logs.
const RESERVED_FILES: u64 = 256;

impl ConnectionArgs {
    /// The limits, given the open-file limit `serve` ended up with.
    pub fn limits(
        &self,
        file: &Config,
        open_files: Option<u64>,
    ) -> agentd_server::ConnectionLimits {
        use agentd_server::listen;
        let secs = |flag: Option<u64>, file: Option<u64>, default: Duration| {
            flag.or(file).map_or(default, Duration::from_secs)
        };
        let mut max_connections = self
            .max_connections
            .or(file.max_connections)
            .unwrap_or(listen::DEFAULT_MAX_CONNECTIONS);
        if let Some(files) = open_files {
            let room = files.saturating_sub(RESERVED_FILES).max(16);
            max_connections = max_connections.min(usize::try_from(room).unwrap_or(usize::MAX));
        }
        agentd_server::ConnectionLimits {
            header_timeout: secs(
                self.header_timeout_secs,
                file.header_timeout_secs,
                listen::DEFAULT_HEADER_TIMEOUT,
            )
            .max(Duration::from_secs(1)),
            body_timeout: secs(
                self.body_timeout_secs,
                file.body_timeout_secs,
                listen::DEFAULT_BODY_TIMEOUT,
            )
            .max(Duration::from_secs(1)),
            max_connections: max_connections.max(1),
            max_pending_per_ip: self
                .max_idle_connections_per_address
                .or(file.max_idle_connections_per_address)
                .unwrap_or(listen::DEFAULT_MAX_PENDING_PER_IP)
                .max(1),
            pending_grace: listen::DEFAULT_PENDING_GRACE,
        }
    }

    pub fn shutdown_timeout(&self, file: &Config) -> Duration {
        self.shutdown_timeout_secs
            .or(file.shutdown_timeout_secs)
            .map_or(
                agentd_server::listen::DEFAULT_SHUTDOWN_TIMEOUT,
                Duration::from_secs,
            )
    }

    pub fn render_budget(&self, file: &Config) -> Duration {
        self.render_timeout_ms
            .or(file.render_timeout_ms)
            .map_or(agentd_server::DEFAULT_RENDER_BUDGET, Duration::from_millis)
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
