//! What a runner keeps for one session across its turns: the Claude Code
//! process (claude-code runtime) with its MCP configuration file, the
//! connected MCP servers (builtin runtime), whether `SessionStart` hooks
//! ran here, and the running turn's cancel token for the CLI's callbacks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{Mutex, MutexGuard};
use tokio_util::sync::CancellationToken;

use crate::turn::mcp::SessionMcp;

#[derive(Default)]
pub(crate) struct RunnerSession {
    claude: Mutex<Option<agentd_claude::ClaudeProcess>>,
    /// The private directory holding the CLI's `--mcp-config` file; removed
    /// with the process.
    claude_mcp_dir: Mutex<Option<tempfile::TempDir>>,
    mcp: Mutex<Option<SessionMcp>>,
    /// `SessionStart` hooks ran for this session in this process.
    started: AtomicBool,
    /// Tool calls (by id) a `PreToolUse` hook asked a person about, on the
    /// claude-code runtime: the CLI's `can_use_tool` for them must ask
    /// whatever the rules say.
    hook_asks: Mutex<HashMap<String, String>>,
    turn_cancel: Mutex<Option<CancellationToken>>,
}

impl RunnerSession {
    /// The session's Claude Code process slot (kept across turns).
    pub(crate) async fn claude(&self) -> MutexGuard<'_, Option<agentd_claude::ClaudeProcess>> {
        self.claude.lock().await
    }

    pub(crate) async fn set_claude_mcp_dir(&self, dir: Option<tempfile::TempDir>) {
        *self.claude_mcp_dir.lock().await = dir;
    }

    pub(crate) async fn mcp(&self) -> MutexGuard<'_, Option<SessionMcp>> {
        self.mcp.lock().await
    }

    /// True the first time it is asked in this process.
    pub(crate) fn first_start(&self) -> bool {
        !self.started.swap(true, Ordering::SeqCst)
    }

    pub(crate) async fn hook_asked(&self, call_id: String, reason: String) {
        self.hook_asks.lock().await.insert(call_id, reason);
    }

    pub(crate) async fn take_hook_ask(&self, call_id: &str) -> Option<String> {
        self.hook_asks.lock().await.remove(call_id)
    }

    pub(crate) async fn set_turn_cancel(&self, token: Option<CancellationToken>) {
        *self.turn_cancel.lock().await = token;
    }

    /// The running turn's cancel token (a fresh one outside a turn).
    pub(crate) async fn turn_cancel(&self) -> CancellationToken {
        self.turn_cancel.lock().await.clone().unwrap_or_default()
    }

    /// Stops the Claude Code process (the next turn resumes its session
    /// with `--resume`) and closes the MCP servers.
    pub(crate) async fn release(&self) {
        if let Some(process) = self.claude.lock().await.take() {
            process.shutdown().await;
        }
        self.claude_mcp_dir.lock().await.take();
        self.close_mcp().await;
    }

    /// Closes the session's MCP servers.
    pub(crate) async fn close_mcp(&self) {
        let state = self.mcp.lock().await.take();
        if let Some(state) = state {
            state.close().await;
        }
    }
}
