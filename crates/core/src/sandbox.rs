//! Which sandbox a session's tools run in: decided once at start-up
//! (bubblewrap, or none when the operator says so), then a policy per
//! session: its workspace read-write, the server's data dir and the user's
//! SSH keys hidden, no network.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use agentd_sandbox::{HiddenPath, SandboxLauncher, SandboxMode, SandboxPolicy, SandboxSetting};
use agentd_tools::ProcessLauncher;

use crate::error::CoreError;

/// Detect the sandbox; an error is kept (not fatal) so the server still
/// starts and every session says what to fix.
pub(crate) async fn detect(setting: SandboxSetting) -> Result<SandboxMode, String> {
    match tokio::task::spawn_blocking(move || agentd_sandbox::detect(setting)).await {
        Ok(Ok(mode)) => Ok(mode),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "no sandbox: sessions will refuse to start");
            Err(e.to_string())
        }
        Err(e) => Err(format!("sandbox detection failed: {e}")),
    }
}

pub(crate) fn check(mode: &Result<SandboxMode, String>) -> Result<(), CoreError> {
    mode.as_ref()
        .map(|_| ())
        .map_err(|e| CoreError::SandboxUnavailable(e.clone()))
}

/// The launcher for one session's tool processes.
pub(crate) fn launcher(
    mode: &SandboxMode,
    workspace: &Path,
    data_dir: &Path,
) -> Result<Arc<dyn ProcessLauncher>, String> {
    SandboxLauncher::new(mode.clone(), policy(workspace, data_dir))
        .map(|l| Arc::new(l) as Arc<dyn ProcessLauncher>)
        .map_err(|e| e.to_string())
}

/// The launcher for one stdio MCP server of a session: the session's policy,
/// plus the server's env values and its install directories read-only.
pub(crate) fn mcp_launcher(
    mode: &SandboxMode,
    workspace: &Path,
    data_dir: &Path,
    env: Vec<(String, String)>,
    readonly: Vec<PathBuf>,
) -> Result<SandboxLauncher, String> {
    let mut policy = policy(workspace, data_dir);
    policy
        .env
        .retain(|(key, _)| !env.iter().any(|(k, _)| k == key));
    policy.env.extend(env);
    policy.extra_readonly.extend(readonly);
    SandboxLauncher::new(mode.clone(), policy).map_err(|e| e.to_string())
}

/// The sandbox policy of one session's processes.
pub(crate) fn policy(workspace: &Path, data_dir: &Path) -> SandboxPolicy {
    let mut policy = SandboxPolicy::new(workspace);
    policy.hidden_paths.extend(HiddenPath::probe(data_dir));
    if let Some(home) = std::env::var_os("HOME") {
        policy
            .hidden_paths
            .extend(HiddenPath::probe(&Path::new(&home).join(".ssh")));
    }
    if let Some(git) = worktree_git_dirs(workspace) {
        // The repository's git dir, read-only, with just what a commit in
        // this worktree writes made writable: the agent can commit on its
        // branch but cannot plant hooks or config in the user's repository.
        policy.extra_readonly.push(git.common.clone());
        for dir in ["objects", "refs", "logs"] {
            let path = git.common.join(dir);
            if path.is_dir() {
                policy.extra_writable.push(path);
            }
        }
        policy.extra_writable.push(git.worktree);
    }
    policy
}

struct WorktreeGit {
    /// `<repo>/.git` (or a bare cache): objects, refs, config, hooks.
    common: PathBuf,
    /// `<common>/worktrees/<name>`: this worktree's HEAD and index.
    worktree: PathBuf,
}

/// A worktree's `.git` is a file naming its git dir, which lives in the
/// repository outside the workspace.
fn worktree_git_dirs(workspace: &Path) -> Option<WorktreeGit> {
    let text = std::fs::read_to_string(workspace.join(".git")).ok()?;
    let gitdir = PathBuf::from(text.trim().strip_prefix("gitdir:")?.trim());
    let worktree = if gitdir.is_absolute() {
        gitdir
    } else {
        workspace.join(gitdir)
    };
    let common_rel = std::fs::read_to_string(worktree.join("commondir")).ok()?;
    let common = worktree.join(common_rel.trim()).canonicalize().ok()?;
    Some(WorktreeGit {
        common,
        worktree: worktree.canonicalize().ok()?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_worktree_points_at_its_repository() {
        let repo = tempfile::tempdir().unwrap();
        let git = |args: &[&str], dir: &Path| {
            let ok = std::process::Command::new("git")
                .args(args)
                .current_dir(dir)
                .output()
                .unwrap()
                .status
                .success();
            assert!(ok, "git {args:?}");
        };
        git(&["init", "-q", "-b", "main"], repo.path());
        git(
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@e",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "x",
            ],
            repo.path(),
        );
        let wt = repo.path().join("wt");
        git(
            &["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()],
            repo.path(),
        );
        let dirs = worktree_git_dirs(&wt).unwrap();
        assert_eq!(
            dirs.common,
            repo.path().join(".git").canonicalize().unwrap()
        );
        assert!(dirs.worktree.starts_with(&dirs.common));
        assert!(
            worktree_git_dirs(repo.path()).is_none(),
            "a plain checkout has a .git dir, not a file"
        );
    }
}
