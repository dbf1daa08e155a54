//! Running commands the way the bash tool does, through a real sandbox.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use agentd_sandbox::{
    HiddenPath, SandboxLauncher, SandboxMode, SandboxPolicy, SandboxSetting, detect,
};
use agentd_tools::{Bash, Tool, ToolContext, ToolOutcome, Workspace};
use serde_json::json;
use tempfile::TempDir;

/// Detected once per test binary: it runs bwrap a few times.
pub fn mode() -> SandboxMode {
    static MODE: OnceLock<SandboxMode> = OnceLock::new();
    MODE.get_or_init(|| {
        detect(SandboxSetting::Auto)
            .expect("bubblewrap must be installed: apt-get install bubblewrap")
    })
    .clone()
}

pub struct Sandbox {
    /// The workspace, bound read-write.
    pub ws: TempDir,
    /// A stand-in for the server user's home, outside the workspace; tests
    /// bind it read-only (like a toolchain dir) to show hiding beats binding.
    pub outside: TempDir,
    pub policy: SandboxPolicy,
}

impl Sandbox {
    pub fn new() -> Self {
        let ws = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let policy = SandboxPolicy::new(ws.path());
        Self {
            ws,
            outside,
            policy,
        }
    }

    pub fn ws(&self) -> PathBuf {
        std::fs::canonicalize(self.ws.path()).unwrap()
    }

    pub fn outside(&self) -> PathBuf {
        std::fs::canonicalize(self.outside.path()).unwrap()
    }

    /// Writes `outside/<rel>` and returns its path.
    pub fn plant_outside(&self, rel: &str, content: &str) -> PathBuf {
        let path = self.outside().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }

    pub fn hide(&mut self, path: &Path) {
        self.policy
            .hidden_paths
            .push(HiddenPath::probe(path).unwrap());
    }

    pub fn launcher(&self) -> SandboxLauncher {
        SandboxLauncher::new(mode(), self.policy.clone()).unwrap()
    }

    /// `command` through the bash tool with the sandbox launcher.
    pub async fn bash(&self, command: &str, timeout_ms: u64) -> ToolOutcome {
        let mut ctx = ToolContext::new(Workspace::new(self.ws.path()).unwrap());
        ctx.launcher = Arc::new(self.launcher());
        let input = json!({"command": command, "timeout_ms": timeout_ms});
        Bash.call(input, &ctx).await
    }

    /// Like [`Sandbox::bash`] with a 10 s timeout, expecting success.
    pub async fn ok(&self, command: &str) -> String {
        let outcome = self.bash(command, 10_000).await;
        assert!(
            !outcome.is_error,
            "`{command}` failed:\n{}",
            outcome.content
        );
        outcome.content
    }
}

/// Host pids whose command line contains `needle` (ours excluded): the
/// sandboxed program and the wrappers around it, whose arguments carry it.
pub fn host_processes_matching(needle: &str) -> Vec<u32> {
    host_processes(|cmdline| cmdline.contains(needle))
}

/// Host pids whose command line starts with `command`: the program itself,
/// not the wrappers, so it is up only once the sandbox is.
pub fn host_processes_running(command: &str) -> Vec<u32> {
    host_processes(|cmdline| cmdline.starts_with(command))
}

fn host_processes(select: impl Fn(&str) -> bool) -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|raw| select(&String::from_utf8_lossy(&raw).replace('\0', " ")))
                .unwrap_or(false)
        })
        .collect()
}

/// Processes (and threads' leaders) in pid namespaces nested at least
/// `extra_levels` below ours: what a sandbox is running, seen from the host.
pub fn nested_process_count(extra_levels: usize) -> usize {
    let depth = |pid: &str| -> Option<usize> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("NSpid:"))?;
        Some(line.split_whitespace().count() - 1)
    };
    let own = depth("self").unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.chars().all(|c| c.is_ascii_digit()))
        .filter(|pid| depth(pid).is_some_and(|d| d >= own + extra_levels))
        .count()
}
