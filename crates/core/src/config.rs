//! Engine settings, loaded once by the binary and passed down.

use std::time::Duration;

use agentd_llm::RetryPolicy;
use std::path::PathBuf;

use agentd_sandbox::SandboxSetting;
use agentd_tools::ToolLimits;
use agentd_workspace::WorkspaceLimits;

/// What the engine needs to know; built by the cli from the merged config.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Where session worktrees (`workspaces/`) and repository caches
    /// (`repos/`) live.
    pub data_dir: PathBuf,
    pub workspace_limits: WorkspaceLimits,
    /// How tools' processes are isolated; `None` only by explicit choice.
    pub sandbox: SandboxSetting,
    /// Users' own stored credentials: a session uses its owner's model key
    /// when there is one, else the server's.
    pub credentials: Option<agentd_store::CredentialVault>,
    /// Where tasks open pull requests with the server's token (none: only
    /// owners with their own GitHub token get pull requests).
    pub github: Option<GitHubSettings>,
    /// The GitHub REST API used with an owner's own token.
    pub github_api_url: String,
    /// The claude-code runtime: where the CLI is and what it is given.
    pub claude: ClaudeSettings,
    /// Model used when a session names none.
    pub default_model: String,
    /// Model requests allowed in one turn before it stops with `max_turns`.
    pub max_turns: u32,
    /// Retries of a sample whose stream failed after it started.
    pub stream_retry: RetryPolicy,
    /// Base system prompt; the workspace path is appended.
    pub system_prompt: String,
    pub tool_limits: ToolLimits,
    /// Characters of tool output kept in `tool.completed` events (the model
    /// gets the full, already capped output).
    pub event_output_chars: usize,
    /// How long a cancelled turn may take to wind down before delete gives up
    /// waiting for it.
    pub cancel_grace: Duration,
    /// Server-wide permission rules (first in the merge order).
    pub permissions: agentd_policy::PermissionSet,
    /// Server-wide hooks (first in the merge order) and how HTTP hooks are
    /// signed and retried.
    pub hooks: HookSettings,
    /// The mode of sessions that name none.
    pub default_permission_mode: agentd_protocol::PermissionMode,
    /// How long a tool call waits for a person before it is denied.
    pub approval_timeout: time::Duration,
    /// Bounds on every MCP operation of a session (connect, list, call).
    pub mcp_timeouts: agentd_mcp::McpTimeouts,
    /// How long a session's MCP servers stay connected while it is idle.
    pub mcp_idle_timeout: Duration,
    /// Subscriber queue length before a slow reader is dropped.
    pub subscriber_buffer: usize,
    /// Default limits of every user (admins override them per user).
    pub limits: agentd_protocol::Limits,
    /// Mark turns a previous process left running as interrupted and resume
    /// acknowledged inputs. Off for `agentd run`, which must not touch the
    /// sessions of a server sharing its database.
    pub recover_on_start: bool,
    /// This process's claim on the database (`Store::lock_owner`), held as
    /// long as the engine lives.
    pub owner_lock: Option<std::sync::Arc<agentd_store::OwnerLock>>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            data_dir: std::env::temp_dir().join("agentd"),
            workspace_limits: WorkspaceLimits::default(),
            sandbox: SandboxSetting::Auto,
            claude: ClaudeSettings::default(),
            github: None,
            github_api_url: "https://api.github.com".to_owned(),
            credentials: None,
            default_model: "claude-sonnet-4-5".to_owned(),
            max_turns: 100,
            stream_retry: RetryPolicy::default(),
            system_prompt: DEFAULT_SYSTEM_PROMPT.to_owned(),
            tool_limits: ToolLimits::default(),
            event_output_chars: 8_000,
            cancel_grace: Duration::from_secs(5),
            subscriber_buffer: 4_096,
            mcp_timeouts: agentd_mcp::McpTimeouts::default(),
            mcp_idle_timeout: Duration::from_secs(10 * 60),
            approval_timeout: time::Duration::minutes(10),
            permissions: agentd_policy::PermissionSet::default(),
            hooks: HookSettings::default(),
            default_permission_mode: agentd_protocol::PermissionMode::Default,
            limits: agentd_protocol::Limits::default(),
            recover_on_start: true,
            owner_lock: None,
        }
    }
}

/// The GitHub REST API tasks open pull requests through.
#[derive(Clone)]
pub struct GitHubSettings {
    pub api_url: String,
    pub token: String,
}

impl std::fmt::Debug for GitHubSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubSettings")
            .field("api_url", &self.api_url)
            .field("token", &"***")
            .finish()
    }
}

/// Hooks every session gets, and how hooks run.
#[derive(Clone, Default)]
pub struct HookSettings {
    /// The server's `[hooks]`, in Claude Code's settings format.
    pub config: agentd_policy::HooksConfig,
    /// Signs every HTTP hook's body (`X-Agentd-Signature-256`).
    pub secret: Option<Vec<u8>>,
    /// Retries of HTTP hooks after connect errors and 5xx answers.
    pub http_retry: agentd_policy::HttpRetry,
}

// By hand so the secret never reaches a log line.
impl std::fmt::Debug for HookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookSettings")
            .field("config", &self.config)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("http_retry", &self.http_retry)
            .finish()
    }
}

/// How sessions on the claude-code runtime start the Claude Code CLI.
#[derive(Clone, Debug, Default)]
pub struct ClaudeSettings {
    /// An explicit `claude` executable; otherwise it is looked up on `PATH`.
    pub path: Option<PathBuf>,
    /// Variables the CLI gets on top of a scrubbed environment: the model
    /// credentials and base URL. Nothing else of the server's leaks to it.
    pub env: Vec<(String, String)>,
}

const DEFAULT_SYSTEM_PROMPT: &str = "You are a coding agent run by agentd. You work in a \
workspace directory through the tools you are given: run shell commands with bash, read and \
change files with read_file, write_file and edit_file, and find things with glob, list and \
grep. Paths are relative to the workspace root. Work step by step, check your work, and end \
with a short summary of what you did.";
