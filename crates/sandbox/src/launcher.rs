//! The one place that turns the pure argv into a [`Command`].

use std::path::{Component, Path, PathBuf};
use std::process::Stdio;

use agentd_tools::{DirectLauncher, ProcessLauncher};
use tokio::process::Command;

use crate::argv::{SH, launch_argv};
use crate::detect::SandboxMode;
use crate::error::SandboxError;
use crate::policy::SandboxPolicy;

/// Exit status of a command refused before it started (bad working directory).
pub const REFUSED_EXIT: u8 = 126;

/// Builds every process of one workspace's tools inside bubblewrap.
///
/// Killing the spawned process (the bash tool's `killpg`, `kill_on_drop`)
/// takes the whole sandbox down: the outermost process is `unshare` (or
/// `bwrap`), and when it dies the kernel kills the sandbox's pid namespace.
#[derive(Clone, Debug)]
pub struct SandboxLauncher {
    mode: SandboxMode,
    policy: SandboxPolicy,
}

impl SandboxLauncher {
    /// Checks the policy against the host once: the workspace and extra
    /// directories must exist (they are canonicalized, so a bind and the
    /// paths tools compute agree), every path must be UTF-8, and hidden paths
    /// that do not exist are dropped (there is nothing to hide, and a mount
    /// point could not be made for them under a read-only directory).
    pub fn new(mode: SandboxMode, mut policy: SandboxPolicy) -> Result<Self, SandboxError> {
        policy.workspace = existing_dir("workspace", &policy.workspace)?;
        policy.git_is_file = policy.workspace.join(".git").is_file();
        for dir in &mut policy.extra_writable {
            *dir = existing_dir("extra writable directory", dir)?;
        }
        if let Some(dir) = &mut policy.home_dir {
            *dir = existing_dir("home directory", dir)?;
        }
        for dir in &mut policy.extra_readonly {
            *dir = existing_dir("extra read-only directory", dir)?;
        }
        policy.hidden_paths.retain(|hidden| {
            let exists = hidden.path.symlink_metadata().is_ok();
            if !exists {
                tracing::debug!(path = %hidden.path.display(), "hidden path does not exist; skipped");
            }
            exists
        });
        utf8("home", &policy.home)?;
        for hidden in &policy.hidden_paths {
            utf8("hidden path", &hidden.path)?;
        }
        match &mode {
            SandboxMode::Bubblewrap { .. } => {}
            SandboxMode::None => tracing::warn!(
                workspace = %policy.workspace.display(),
                "sandbox = \"none\": tools run unsandboxed with the server's privileges"
            ),
        }
        Ok(Self { mode, policy })
    }

    pub fn mode(&self) -> &SandboxMode {
        &self.mode
    }

    /// The policy as checked by [`SandboxLauncher::new`].
    pub fn policy(&self) -> &SandboxPolicy {
        &self.policy
    }

    /// The sandboxed command, or why it cannot be built.
    pub fn try_command(
        &self,
        program: &str,
        args: &[String],
        cwd: &Path,
    ) -> Result<Command, SandboxError> {
        let (bwrap, process_cap) = match &self.mode {
            SandboxMode::Bubblewrap { bwrap, process_cap } => (bwrap, *process_cap),
            SandboxMode::None => return Ok(DirectLauncher.command(program, args, cwd)),
        };
        if !inside(cwd, &self.policy.workspace) {
            return Err(SandboxError::CwdOutsideWorkspace {
                cwd: cwd.to_owned(),
                workspace: self.policy.workspace.clone(),
            });
        }
        utf8("working directory", cwd)?;
        if self.policy.protect_git {
            ensure_hooks_dir(&self.policy.workspace);
        }
        let argv = launch_argv(bwrap, process_cap, &self.policy, cwd, program, args);
        let (outer, rest) = argv
            .split_first()
            .map_or(("", &[][..]), |(p, a)| (p.as_str(), a));
        let mut cmd = Command::new(outer);
        // The wrapper processes run on the host: they get no environment
        // (no server secrets); the sandbox's own comes from the policy.
        cmd.args(rest)
            .env_clear()
            .current_dir("/")
            .stdin(Stdio::null());
        Ok(cmd)
    }
}

impl ProcessLauncher for SandboxLauncher {
    fn command(&self, program: &str, args: &[String], cwd: &Path) -> Command {
        match self.try_command(program, args, cwd) {
            Ok(cmd) => cmd,
            Err(err) => {
                tracing::error!(error = %err, "refusing to start a sandboxed process");
                refusal(&err.to_string())
            }
        }
    }
}

/// A command that only reports `reason` on stderr and fails: the trait cannot
/// return an error, and the tool then shows the reason to the model.
fn refusal(reason: &str) -> Command {
    let mut cmd = Command::new(SH);
    cmd.args([
        "-c",
        &format!("printf 'agentd sandbox: %s\\n' \"$1\" >&2; exit {REFUSED_EXIT}"),
        "sh",
        reason,
    ])
    .env_clear()
    .current_dir("/")
    .stdin(Stdio::null());
    cmd
}

/// Lexical: `cwd` comes from a tool, already resolved inside the workspace;
/// `..` is refused rather than interpreted.
fn inside(cwd: &Path, workspace: &Path) -> bool {
    cwd.is_absolute()
        && cwd.starts_with(workspace)
        && !cwd.components().any(|c| matches!(c, Component::ParentDir))
}

/// Without a hooks directory there is nothing to bind read-only, and the
/// sandbox could create one. An empty one on the host is harmless.
fn ensure_hooks_dir(workspace: &Path) {
    let git = workspace.join(".git");
    if git.is_dir()
        && let Err(err) = std::fs::create_dir_all(git.join("hooks"))
    {
        tracing::warn!(error = %err, "cannot create .git/hooks; hooks are not protected");
    }
}

fn existing_dir(what: &'static str, path: &Path) -> Result<PathBuf, SandboxError> {
    let bad = |source| SandboxError::BadPath {
        what,
        path: path.to_owned(),
        source,
    };
    let canonical = std::fs::canonicalize(path).map_err(bad)?;
    if !canonical.is_dir() {
        return Err(bad(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            "not a directory",
        )));
    }
    utf8(what, &canonical)?;
    Ok(canonical)
}

fn utf8(what: &'static str, path: &Path) -> Result<(), SandboxError> {
    match path.to_str() {
        Some(_) => Ok(()),
        None => Err(SandboxError::NonUtf8Path {
            what,
            path: path.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cwd_must_be_inside_the_workspace() {
        let ws = Path::new("/srv/ws");
        assert!(inside(Path::new("/srv/ws"), ws));
        assert!(inside(Path::new("/srv/ws/src"), ws));
        assert!(!inside(Path::new("/srv/wsx"), ws));
        assert!(!inside(Path::new("/srv/ws/../etc"), ws));
        assert!(!inside(Path::new("srv/ws"), ws));
        assert!(!inside(Path::new("/etc"), ws));
    }
}
