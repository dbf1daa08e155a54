//! The Claude Code CLI of a session runs under bubblewrap like every tool
//! process: the same policy as the session's tools (system read-only, the
//! workspace read-write with its `.git` protections, the data dir and
//! `~/.ssh` hidden, limits, die-with-parent), with four differences:
//!
//! - the host's network is shared: the CLI must reach the model API. Its
//!   own Bash tool and the MCP servers it starts inherit that network;
//! - `HOME` is a private directory that persists (`<data dir>/claude-home/
//!   <session id>`), because the CLI keeps its transcripts there and
//!   `--resume` after a server restart reads them;
//! - the CLI's install directory, the `--mcp-config` file and the install
//!   directories of the session's stdio MCP servers are bound read-only;
//! - the CPU-time limit is a day, not ten minutes: the CLI is one process
//!   for the whole session.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use agentd_claude::CliLauncher;
use agentd_protocol::SessionId;
use agentd_sandbox::{NetworkPolicy, SandboxLauncher, SandboxMode, SandboxPolicy, default_env};
use tokio::process::Command;

/// CPU seconds for the CLI process and what it starts (RLIMIT_CPU is per
/// process): generous, since one CLI serves every turn of a session.
const CLI_CPU_SECONDS: u64 = 24 * 60 * 60;

/// Variables of the configured environment that would point the CLI's
/// state outside its private home, where the sandbox cannot reach.
const REPLACED_BY_HOME: [&str; 2] = ["HOME", "CLAUDE_CONFIG_DIR"];

/// The private home of one session's CLI on the host.
pub(crate) fn home_dir(data_dir: &Path, id: SessionId) -> PathBuf {
    data_dir.join("claude-home").join(id.to_string())
}

/// Removes a deleted session's CLI home (its transcripts).
pub(crate) async fn remove_home(data_dir: &Path, id: SessionId) {
    let dir = home_dir(data_dir, id);
    if let Err(e) = tokio::fs::remove_dir_all(&dir).await
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(%id, error = %e, "cannot remove the Claude Code home");
    }
}

/// Starts one session's CLI inside bubblewrap.
#[derive(Debug)]
pub(crate) struct ClaudeSandbox {
    mode: SandboxMode,
    policy: SandboxPolicy,
}

/// What the CLI of one session needs beyond the session's tool policy.
pub(crate) struct ClaudeMounts<'a> {
    pub workspace: &'a Path,
    pub data_dir: &'a Path,
    pub session: SessionId,
    pub cli: &'a Path,
    /// The `--mcp-config` file's directory and the stdio servers' commands.
    pub mcp_dir: Option<&'a Path>,
    pub mcp_programs: &'a [PathBuf],
}

/// `None` with `sandbox = "none"`: the CLI then runs as before, directly.
pub(crate) fn launcher(
    mode: &SandboxMode,
    mounts: &ClaudeMounts<'_>,
) -> Result<Option<Arc<dyn CliLauncher>>, String> {
    if matches!(mode, SandboxMode::None) {
        return Ok(None);
    }
    let home = home_dir(mounts.data_dir, mounts.session);
    create_private_dir(&home)
        .map_err(|e| format!("cannot create the Claude Code home {}: {e}", home.display()))?;
    let mut policy = crate::sandbox::policy(mounts.workspace, mounts.data_dir);
    policy.network = NetworkPolicy::Host;
    policy.home_dir = Some(home);
    policy.limits.cpu_seconds = CLI_CPU_SECONDS;
    let mut readonly = crate::turn::mcp::install_dirs(mounts.cli);
    readonly.extend(mounts.mcp_dir.map(Path::to_path_buf));
    for program in mounts.mcp_programs {
        readonly.extend(crate::turn::mcp::install_dirs(program));
    }
    for dir in readonly {
        if !policy.extra_readonly.contains(&dir) {
            policy.extra_readonly.push(dir);
        }
    }
    Ok(Some(Arc::new(ClaudeSandbox {
        mode: mode.clone(),
        policy,
    })))
}

impl CliLauncher for ClaudeSandbox {
    fn command(
        &self,
        program: &Path,
        args: &[String],
        env: Vec<(String, String)>,
        cwd: &Path,
    ) -> Result<Command, String> {
        let mut policy = self.policy.clone();
        policy.env = sandbox_env(env);
        // The launcher compares the working directory with the canonical
        // workspace.
        let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_owned());
        let launcher =
            SandboxLauncher::new(self.mode.clone(), policy).map_err(|e| e.to_string())?;
        launcher
            .try_command(&program.to_string_lossy(), args, &cwd)
            .map_err(|e| e.to_string())
    }
}

/// The sandbox's base (`PATH`, locale) overridden by what the runtime
/// passes; `HOME` and `CLAUDE_CONFIG_DIR` give way to the private home.
fn sandbox_env(explicit: Vec<(String, String)>) -> Vec<(String, String)> {
    let explicit: Vec<(String, String)> = explicit
        .into_iter()
        .filter(|(key, _)| !REPLACED_BY_HOME.contains(&key.as_str()))
        .collect();
    let mut env: Vec<(String, String)> = default_env()
        .into_iter()
        .filter(|(key, _)| !explicit.iter().any(|(k, _)| k == key))
        .collect();
    env.extend(explicit);
    env
}

/// 0700: the home holds the conversation's transcripts.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_keeps_what_the_runtime_passes_and_drops_host_homes() {
        let env = sandbox_env(
            [
                ("PWD", "/ws"),
                ("ANTHROPIC_API_KEY", "k"),
                ("HOME", "/root"),
                ("CLAUDE_CONFIG_DIR", "/root/.claude"),
                ("LANG", "en_US.UTF-8"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into(),
        );
        let keys: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["PATH", "PWD", "ANTHROPIC_API_KEY", "LANG"]);
        assert!(env.contains(&("LANG".to_owned(), "en_US.UTF-8".to_owned())));
    }
}
