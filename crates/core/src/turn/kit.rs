//! What a turn runs with on the machine that holds its workspace: the
//! model, the tools, the sandbox, the workspaces and the Claude Code CLI,
//! and the settings that shape a turn. Nothing here reaches the store: what
//! a turn needs from the rest of the engine goes through its `SessionHost`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use agentd_llm::{ModelClient, RetryPolicy};
use agentd_sandbox::SandboxMode;
use agentd_tools::{Registry, ToolLimits};
use agentd_workspace::WorkspaceManager;

use crate::config::{ClaudeSettings, EngineConfig, GitHubSettings};

pub(crate) struct RunnerKit {
    pub(crate) model: Arc<dyn ModelClient>,
    pub(crate) tools: Arc<Registry>,
    /// How tools run: bubblewrap, or none by explicit choice; an error
    /// (bubblewrap missing) makes sessions refuse to start.
    pub(crate) sandbox: Result<SandboxMode, String>,
    pub(crate) workspaces: WorkspaceManager,
    /// The Claude Code CLI, found on first use (then cached).
    claude_cli: tokio::sync::OnceCell<agentd_claude::ClaudeCli>,
    pub(crate) claude: ClaudeSettings,
    pub(crate) data_dir: PathBuf,
    pub(crate) system_prompt: String,
    pub(crate) max_turns: u32,
    pub(crate) stream_retry: RetryPolicy,
    pub(crate) tool_limits: ToolLimits,
    pub(crate) event_output_chars: usize,
    pub(crate) cancel_grace: Duration,
    pub(crate) mcp_timeouts: agentd_mcp::McpTimeouts,
    /// Signs HTTP hooks' bodies; how they are retried.
    pub(crate) hook_secret: Option<Vec<u8>>,
    pub(crate) hook_retry: agentd_policy::HttpRetry,
    /// Where tasks open pull requests with the server's token.
    pub(crate) github: Option<GitHubSettings>,
    pub(crate) github_api_url: String,
}

impl RunnerKit {
    pub(crate) fn new(
        config: &EngineConfig,
        model: Arc<dyn ModelClient>,
        tools: Registry,
        sandbox: Result<SandboxMode, String>,
    ) -> Self {
        Self {
            model,
            tools: Arc::new(tools),
            sandbox,
            workspaces: WorkspaceManager::new(&config.data_dir, config.workspace_limits),
            claude_cli: tokio::sync::OnceCell::new(),
            claude: config.claude.clone(),
            data_dir: config.data_dir.clone(),
            system_prompt: config.system_prompt.clone(),
            max_turns: config.max_turns,
            stream_retry: config.stream_retry.clone(),
            tool_limits: config.tool_limits.clone(),
            event_output_chars: config.event_output_chars,
            cancel_grace: config.cancel_grace,
            mcp_timeouts: config.mcp_timeouts.clone(),
            hook_secret: config.hooks.secret.clone(),
            hook_retry: config.hooks.http_retry,
            github: config.github.clone(),
            github_api_url: config.github_api_url.clone(),
        }
    }

    pub(crate) async fn claude_cli(
        &self,
    ) -> Result<agentd_claude::ClaudeCli, agentd_claude::ClaudeError> {
        let explicit = self.claude.path.as_deref();
        self.claude_cli
            .get_or_try_init(|| agentd_claude::ClaudeCli::discover(explicit))
            .await
            .cloned()
    }
}
