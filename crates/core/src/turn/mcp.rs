//! The MCP servers of one session: resolved and sealed when the session is
//! created, connected lazily when a builtin turn starts, reused across its
//! turns, and closed when the session ends, is deleted, or stays idle for
//! `EngineConfig::mcp_idle_timeout`.
//!
//! Stdio servers are processes like any tool's: they start through the
//! session's sandbox (bubblewrap with the session's policy; the server's own
//! install directory bound read-only so it can run, its env values passed in
//! with `--setenv`).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use agentd_mcp::{McpServerConfig, McpToolset, Secret, StdioCommand};
use agentd_protocol::event::ErrorEvent;
use agentd_protocol::{ErrorCode, EventData};
use agentd_sandbox::SandboxMode;
use agentd_tools::Tool;

use crate::turn::Turn;

/// The live connections of one session.
#[derive(Default)]
pub(crate) struct SessionMcp {
    sets: Vec<McpToolset>,
    /// Servers connected so far; the others are retried on the next turn.
    connected: HashSet<String>,
    tools: Vec<Arc<dyn Tool>>,
    last_used: Option<Instant>,
}

impl SessionMcp {
    /// Not used for `idle` or longer.
    pub(crate) fn unused_for(&self, idle: std::time::Duration) -> bool {
        self.last_used.is_some_and(|at| at.elapsed() >= idle)
    }

    pub(crate) async fn close(self) {
        for set in &self.sets {
            set.close().await;
        }
    }
}

/// The MCP tools for this turn, connecting servers not connected yet. A
/// server that fails is reported as an `error` event and left out; the turn
/// goes on with the rest.
pub(crate) async fn tools_for_turn(turn: &Turn) -> Vec<Arc<dyn Tool>> {
    let configs = match turn.host.mcp_servers().await {
        Ok(configs) => configs,
        Err(message) => {
            report(turn, message).await;
            return Vec::new();
        }
    };
    if configs.is_empty() {
        return Vec::new();
    }
    let mut slot = turn.runner.mcp().await;
    let state = slot.get_or_insert_with(SessionMcp::default);
    let missing: Vec<McpServerConfig> = configs
        .into_iter()
        .filter(|c| !state.connected.contains(&c.name))
        .collect();
    if !missing.is_empty() {
        let stdio = SandboxedStdio {
            mode: turn.kit.sandbox.clone(),
            workspace: PathBuf::from(&turn.record.workspace_path),
            data_dir: turn.kit.data_dir.clone(),
        };
        let set = McpToolset::connect_all_via(&missing, &turn.kit.mcp_timeouts, &stdio).await;
        for (server, error) in &set.failures {
            report(
                turn,
                format!("MCP server `{server}` is not available: {error}"),
            )
            .await;
        }
        for connection in set.connections() {
            state.connected.insert(connection.server_name().to_owned());
        }
        state.tools.extend(set.tools.iter().cloned());
        state.sets.push(set);
    }
    state.last_used = Some(Instant::now());
    state.tools.clone()
}

async fn report(turn: &Turn, message: String) {
    tracing::warn!(id = %turn.id, %message, "MCP");
    turn.emit(EventData::Error(ErrorEvent {
        code: ErrorCode::ToolFailed,
        message,
        retryable: false,
    }))
    .await;
}

/// Builds stdio servers' processes in the session's sandbox.
pub(crate) struct SandboxedStdio {
    pub(crate) mode: Result<SandboxMode, String>,
    pub(crate) workspace: PathBuf,
    pub(crate) data_dir: PathBuf,
}

impl StdioCommand for SandboxedStdio {
    fn build(
        &self,
        server: &str,
        command: &str,
        args: &[String],
        env: &BTreeMap<String, Secret>,
    ) -> Result<tokio::process::Command, String> {
        let mode = self.mode.as_ref().map_err(|e| format!("no sandbox: {e}"))?;
        match mode {
            SandboxMode::None => {
                let mut cmd = agentd_mcp::DirectStdio.build(server, command, args, env)?;
                cmd.current_dir(&self.workspace);
                Ok(cmd)
            }
            SandboxMode::Bubblewrap { .. } => {
                // The launcher compares the working directory with the
                // canonical workspace.
                let workspace = self
                    .workspace
                    .canonicalize()
                    .unwrap_or_else(|_| self.workspace.clone());
                let program = resolve_program(command);
                let env: Vec<(String, String)> = env
                    .iter()
                    .map(|(k, v)| (k.clone(), v.expose().to_owned()))
                    .collect();
                let launcher = crate::sandbox::mcp_launcher(
                    mode,
                    &workspace,
                    &self.data_dir,
                    env,
                    install_dirs(&program),
                )?;
                launcher
                    .try_command(&program.to_string_lossy(), args, &workspace)
                    .map_err(|e| e.to_string())
            }
        }
    }
}

/// A bare command name as the host's `PATH` finds it, so a server installed
/// outside the sandbox's system directories (npm, pipx) can be bound in.
pub(crate) fn resolve_program(command: &str) -> PathBuf {
    if command.contains('/') {
        return PathBuf::from(command);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join(command))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from(command))
}

/// What a server outside the system directories needs to see to run: the
/// outermost `node_modules` above it (its dependencies), else its directory;
/// for both the path as given and where its symlinks lead.
pub(crate) fn install_dirs(program: &Path) -> Vec<PathBuf> {
    if !program.is_absolute() {
        return Vec::new();
    }
    let mut dirs = Vec::new();
    let canonical = program.canonicalize().ok();
    for path in [Some(program.to_path_buf()), canonical]
        .into_iter()
        .flatten()
    {
        let dir = path
            .ancestors()
            .filter(|a| a.file_name().is_some_and(|n| n == "node_modules"))
            .last()
            .map(Path::to_path_buf)
            .or_else(|| path.parent().map(Path::to_path_buf));
        if let Some(dir) = dir
            && !is_system(&dir)
            && !dirs.contains(&dir)
        {
            dirs.push(dir);
        }
    }
    dirs
}

fn is_system(dir: &Path) -> bool {
    ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc", "/opt"]
        .iter()
        .any(|sys| dir.starts_with(sys))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn npm_servers_bring_their_node_modules() {
        let root = tempfile::tempdir().unwrap();
        let modules = root.path().join("node_modules");
        let pkg = modules.join("@x/srv/dist");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::create_dir_all(modules.join(".bin")).unwrap();
        std::fs::write(pkg.join("index.js"), "").unwrap();
        let bin = modules.join(".bin/srv");
        std::os::unix::fs::symlink(pkg.join("index.js"), &bin).unwrap();
        let modules = modules.canonicalize().unwrap();
        assert_eq!(install_dirs(&modules.join(".bin/srv")), vec![modules]);

        let plain = root.path().canonicalize().unwrap().join("server");
        std::fs::write(&plain, "").unwrap();
        assert_eq!(
            install_dirs(&plain),
            vec![root.path().canonicalize().unwrap()]
        );
        assert!(install_dirs(Path::new("/usr/bin/node")).is_empty());
        assert!(install_dirs(Path::new("npx")).is_empty());
    }
}
