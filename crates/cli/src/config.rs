//! Configuration: a TOML file, `AGENTD_*` environment variables and flags,
//! merged once into one typed `Config` (flags and environment win over the
//! file, the file over defaults).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use serde::Deserialize;

/// Options shared by `serve` and `run`.
#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// A TOML config file.
    #[arg(long, env = "AGENTD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where agentd keeps its SQLite database and workspaces.
    #[arg(long, env = "AGENTD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// `postgres://…` to use PostgreSQL instead of SQLite in the data dir.
    #[arg(long, env = "AGENTD_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Default model for sessions that name none.
    #[arg(long, env = "AGENTD_MODEL")]
    pub model: Option<String>,
    /// The Claude Code CLI for the claude-code runtime (default: `claude` on PATH).
    #[arg(long, env = "AGENTD_CLAUDE_PATH")]
    pub claude_path: Option<PathBuf>,
    /// Permission mode of sessions that name none: default (ask for what
    /// rules don't allow), acceptEdits, plan, bypassPermissions, unattended.
    #[arg(long, env = "AGENTD_PERMISSION_MODE")]
    pub permission_mode: Option<agentd_protocol::PermissionMode>,
    /// Seconds a tool call waits for a person's approval before it is
    /// denied (default 600).
    #[arg(long, env = "AGENTD_APPROVAL_TIMEOUT_SECS")]
    pub approval_timeout_secs: Option<u32>,
}

/// The config file's shape; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    model: Option<String>,
    max_turns: Option<u32>,
    system_prompt: Option<String>,
    claude_path: Option<PathBuf>,
    permission_mode: Option<agentd_protocol::PermissionMode>,
    approval_timeout_secs: Option<u32>,
    /// Largest file `PUT …/files/content` accepts (default 25 MiB).
    max_upload_bytes: Option<u64>,
    /// Server-wide permission rules, Claude Code syntax.
    #[serde(default)]
    permissions: FilePermissions,
    /// Every user's default quotas and budgets (admins override per user).
    #[serde(default)]
    limits: agentd_protocol::Limits,
    /// Server-wide hooks in Claude Code's settings format
    /// (`[[hooks.PreToolUse]]` with `matcher` and `[[hooks.PreToolUse.hooks]]`).
    hooks: Option<toml::Value>,
    /// Signs HTTP hook bodies (`X-Agentd-Signature-256: sha256=<hex>`).
    hooks_secret: Option<String>,
    workspace_ttl_secs: Option<u64>,
    workspace_cleanup_interval_secs: Option<u64>,
    header_timeout_secs: Option<u64>,
    body_timeout_secs: Option<u64>,
    max_connections: Option<usize>,
    max_idle_connections_per_address: Option<usize>,
    shutdown_timeout_secs: Option<u64>,
    render_timeout_ms: Option<u64>,
    /// `[github_webhooks]`: see `serve_options`.
    #[serde(default)]
    github_webhooks: crate::serve_options::FileWebhooks,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePermissions {
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    ask: Vec<String>,
    #[serde(default)]
    deny: Vec<String>,
}

/// The merged configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub model: Option<String>,
    pub max_turns: Option<u32>,
    pub system_prompt: Option<String>,
    pub claude_path: Option<PathBuf>,
    pub permission_mode: Option<agentd_protocol::PermissionMode>,
    pub permissions: agentd_policy::PermissionSet,
    pub approval_timeout_secs: Option<u32>,
    pub limits: agentd_protocol::Limits,
    pub hooks: agentd_policy::HooksConfig,
    pub hooks_secret: Option<agentd_store::Secret>,
    /// From the config file; `agentd serve` lets its flag win.
    pub max_upload_bytes: Option<u64>,
    /// The file's values for `serve`-only settings; `serve_options` merges
    /// them under flags and environment.
    pub workspace_ttl_secs: Option<u64>,
    pub workspace_cleanup_interval_secs: Option<u64>,
    pub header_timeout_secs: Option<u64>,
    pub body_timeout_secs: Option<u64>,
    pub max_connections: Option<usize>,
    pub max_idle_connections_per_address: Option<usize>,
    pub shutdown_timeout_secs: Option<u64>,
    pub render_timeout_ms: Option<u64>,
    pub github_webhooks: crate::serve_options::FileWebhooks,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:7700";

impl Config {
    pub fn load(common: &CommonArgs, listen: Option<SocketAddr>) -> Result<Self> {
        let file = match &common.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let default_listen: SocketAddr =
            DEFAULT_LISTEN.parse().context("default listen address")?;
        Ok(Self {
            listen: listen.or(file.listen).unwrap_or(default_listen),
            data_dir: common
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(default_data_dir),
            database_url: common.database_url.clone().or(file.database_url),
            model: common.model.clone().or(file.model),
            max_turns: file.max_turns,
            system_prompt: file.system_prompt,
            claude_path: common.claude_path.clone().or(file.claude_path),
            permission_mode: common.permission_mode.or(file.permission_mode),
            permissions: parse_rules(&file.permissions)?,
            approval_timeout_secs: common.approval_timeout_secs.or(file.approval_timeout_secs),
            limits: file.limits,
            hooks: parse_hooks(file.hooks)?,
            hooks_secret: std::env::var("AGENTD_HOOKS_SECRET")
                .ok()
                .or(file.hooks_secret)
                .filter(|s| !s.is_empty())
                .map(agentd_store::Secret::new),
            max_upload_bytes: file.max_upload_bytes,
            workspace_ttl_secs: file.workspace_ttl_secs,
            workspace_cleanup_interval_secs: file.workspace_cleanup_interval_secs,
            header_timeout_secs: file.header_timeout_secs,
            body_timeout_secs: file.body_timeout_secs,
            max_connections: file.max_connections,
            max_idle_connections_per_address: file.max_idle_connections_per_address,
            shutdown_timeout_secs: file.shutdown_timeout_secs,
            render_timeout_ms: file.render_timeout_ms,
            github_webhooks: file.github_webhooks,
        })
    }

    /// The database to open: the URL if given, else SQLite in the data dir.
    pub fn database(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("agentd.db").display()),
        }
    }

    pub fn engine(&self) -> agentd_core::EngineConfig {
        let mut engine = agentd_core::EngineConfig {
            data_dir: self.data_dir.clone(),
            ..agentd_core::EngineConfig::default()
        };
        if let Some(model) = &self.model {
            engine.default_model = model.clone();
        }
        if let Some(max_turns) = self.max_turns {
            engine.max_turns = max_turns;
        }
        if let Some(prompt) = &self.system_prompt {
            engine.system_prompt = prompt.clone();
        }
        if let Some(mode) = self.permission_mode {
            engine.default_permission_mode = mode;
        }
        engine.permissions = self.permissions.clone();
        engine.limits = self.limits;
        if let Some(secs) = self.approval_timeout_secs {
            engine.approval_timeout = time::Duration::seconds(i64::from(secs));
        }
        engine.hooks = agentd_core::HookSettings {
            config: self.hooks.clone(),
            secret: self
                .hooks_secret
                .as_ref()
                .map(|s| s.expose().as_bytes().to_vec()),
            http_retry: agentd_policy::HttpRetry::default(),
        };
        engine.github = github_settings();
        if let Some(url) = std::env::var("AGENTD_GITHUB_API_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            engine.github_api_url = url;
        }
        engine.claude = agentd_core::ClaudeSettings {
            path: self.claude_path.clone(),
            env: claude_env(),
        };
        engine
    }
}

fn parse_rules(file: &FilePermissions) -> Result<agentd_policy::PermissionSet> {
    let parse = |rules: &[String]| -> Result<Vec<agentd_policy::Rule>> {
        rules
            .iter()
            .map(|r| {
                agentd_policy::Rule::parse(r)
                    .with_context(|| format!("invalid permission rule {r:?}"))
            })
            .collect()
    };
    Ok(agentd_policy::PermissionSet {
        allow: parse(&file.allow)?,
        ask: parse(&file.ask)?,
        deny: parse(&file.deny)?,
    })
}

/// `[hooks]` is Claude Code's `hooks` object written in TOML; it is read by
/// the same parser as a settings.json, so both accept the same shapes.
fn parse_hooks(hooks: Option<toml::Value>) -> Result<agentd_policy::HooksConfig> {
    let Some(hooks) = hooks else {
        return Ok(agentd_policy::HooksConfig::default());
    };
    let json = serde_json::to_value(&hooks).context("invalid [hooks] section")?;
    let document = serde_json::json!({ "hooks": json }).to_string();
    let settings = agentd_policy::Settings::from_json(&document, Path::new("[hooks]"))
        .context("invalid [hooks] section")?;
    Ok(settings.hooks)
}

fn read_file(path: &Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}

/// Where tasks open pull requests: `GITHUB_TOKEN` (as GitHub's own tools
/// read it) and `AGENTD_GITHUB_API_URL` (GitHub Enterprise, tests).
pub fn github_settings() -> Option<agentd_core::GitHubSettings> {
    let token = std::env::var("GITHUB_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())?;
    let api_url = std::env::var("AGENTD_GITHUB_API_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "https://api.github.com".to_owned());
    Some(agentd_core::GitHubSettings { api_url, token })
}

/// What the Claude Code CLI needs from the server's environment to reach the
/// model the same way the builtin runtime does.
fn claude_env() -> Vec<(String, String)> {
    [
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "CLAUDE_CODE_MAX_RETRIES",
    ]
    .into_iter()
    .filter_map(|name| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .map(|v| (name.to_owned(), v))
    })
    .collect()
}

/// `$XDG_DATA_HOME/agentd`, else `~/.local/share/agentd`, else `./.agentd`.
fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("agentd");
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/share/agentd"),
        None => PathBuf::from(".agentd"),
    }
}

/// Open the store and the model client the config names.
/// `master_key` opens users' stored credentials, so their sessions use
/// their own model keys.
pub async fn open_engine(
    config: &Config,
    recover: bool,
    master_key: Option<agentd_store::MasterKey>,
) -> Result<agentd_core::SessionManager> {
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;
    }
    let store = agentd_store::Store::connect(&config.database())
        .await
        .context("cannot open the database")?;
    // The engine that recovers runs sessions: one such process per database
    // (a second one's recovery would take the first's live turns for dead).
    let owner = if recover {
        Some(store.lock_owner().await.map_err(|e| match e {
            agentd_store::StoreError::Conflict(what) => anyhow::anyhow!(
                "{what}; stop the other server first, or give this one its own --data-dir or --database-url"
            ),
            other => anyhow::Error::new(other).context("cannot lock the database"),
        })?)
    } else {
        None
    };
    // Anthropic always; an OpenAI-compatible server too when OPENAI_BASE_URL
    // or OPENAI_API_KEY is set (sessions select it with `openai:<model>`).
    let model = agentd_llm::ModelRouter::from_env().context("invalid model client settings")?;
    let mut engine = config.engine();
    engine.recover_on_start = recover;
    engine.owner_lock = owner.map(std::sync::Arc::new);
    engine.credentials =
        master_key.map(|key| agentd_store::CredentialVault::new(store.clone(), key));
    agentd_core::SessionManager::start(
        engine,
        store,
        std::sync::Arc::new(model),
        agentd_tools::Registry::builtin(),
    )
    .await
    .context("cannot start the session engine")
}
