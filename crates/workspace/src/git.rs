//! The one place that starts `git`.
//!
//! Every call gets an argument vector (never a shell string), a timeout that
//! kills git's whole process group (ssh and `git-remote-https` included), no
//! stdin (nothing can prompt), and a fixed set of config overrides so the
//! user's global settings cannot change what our own bookkeeping does.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::Command;

use crate::error::{WorkspaceError, stderr_detail};

/// Identity for every commit we make; set per command, never written to config.
pub(crate) const IDENTITY: [&str; 4] = [
    "-c",
    "user.name=agentd",
    "-c",
    "user.email=agentd@localhost",
];

/// Overrides that keep our commands deterministic whatever the user's global
/// config says. Hooks are off because a server must not run repository
/// scripts outside the sandbox; signing is off because no agent has a key.
const OVERRIDES: [&str; 12] = [
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "commit.gpgSign=false",
    "-c",
    "advice.detachedHead=false",
    "-c",
    "init.defaultBranch=main",
    "-c",
    "core.quotePath=false",
    "-c",
    "core.fsmonitor=false",
];

/// Variables that would point git at a different repository or index than
/// the one we name (they leak in when agentd itself runs under a git hook).
const REPO_ENV: [&str; 9] = [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "GIT_CONFIG_PARAMETERS",
];

/// Protocols a user-supplied URL may use; also blocks `ext::` and friends
/// inside git itself, for submodules or redirects we never validated.
pub(crate) const ALLOWED_PROTOCOLS: &str = "https:ssh:file";

/// What a finished git command produced.
#[derive(Debug)]
pub(crate) struct GitOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// A git invocation being built.
#[derive(Debug)]
pub(crate) struct Git {
    op: &'static str,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    env: Vec<(&'static str, OsString)>,
    timeout: Duration,
}

impl Git {
    /// `op` names the operation in errors ("worktree add", "fetch", …).
    pub fn new(op: &'static str, timeout: Duration) -> Self {
        let mut args: Vec<OsString> = OVERRIDES.iter().map(OsString::from).collect();
        args.extend(IDENTITY.iter().map(OsString::from));
        Self {
            op,
            args,
            cwd: None,
            env: Vec::new(),
            timeout,
        }
    }

    /// Run in `dir` (`git -C dir`).
    pub fn dir(mut self, dir: &Path) -> Self {
        self.cwd = Some(dir.to_path_buf());
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    pub fn env(mut self, key: &'static str, value: impl AsRef<OsStr>) -> Self {
        self.env.push((key, value.as_ref().to_os_string()));
        self
    }

    /// Use a private index file instead of the repository's own.
    pub fn index(self, index: &Path) -> Self {
        self.env("GIT_INDEX_FILE", index)
    }

    /// Run and return the output whatever the exit status; only failing to
    /// start and timing out are errors here.
    pub async fn output(self) -> Result<GitOutput, WorkspaceError> {
        let mut cmd = Command::new("git");
        if let Some(dir) = &self.cwd {
            cmd.arg("-C").arg(dir);
        }
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own group, so one killpg on timeout also reaches ssh/https helpers.
            .process_group(0);
        for key in REPO_ENV {
            cmd.env_remove(key);
        }
        cmd.env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            // English messages: auth and network failures are classified from stderr.
            .env("LC_ALL", "C")
            .env("LANGUAGE", "C");
        for (key, value) in &self.env {
            cmd.env(key, value);
        }
        let child = cmd
            .spawn()
            .map_err(|e| WorkspaceError::GitMissing(e.to_string()))?;
        let pid = child.id();
        match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(Ok(out)) => Ok(GitOutput {
                success: out.status.success(),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }),
            Ok(Err(e)) => Err(WorkspaceError::io("waiting for git", &e)),
            Err(_) => {
                if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                    // The group may already be gone; kill_on_drop covers git itself.
                    let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
                }
                Err(WorkspaceError::GitTimeout {
                    op: self.op,
                    timeout: self.timeout,
                })
            }
        }
    }

    /// Run, require success, and return stdout.
    pub async fn run(self) -> Result<String, WorkspaceError> {
        let op = self.op;
        let out = self.output().await?;
        if out.success {
            Ok(out.stdout)
        } else {
            Err(WorkspaceError::Git {
                op,
                detail: stderr_detail(&out.stderr),
            })
        }
    }

    /// Run, require success, and return the first line of stdout, trimmed.
    pub async fn line(self) -> Result<String, WorkspaceError> {
        let out = self.run().await?;
        Ok(out.lines().next().unwrap_or_default().trim().to_owned())
    }
}

/// How a transfer (clone, fetch, push) failed, read from git's stderr.
pub(crate) fn transfer_error(url: &str, stderr: &str) -> WorkspaceError {
    let lower = stderr.to_ascii_lowercase();
    let url = url.to_owned();
    let any = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    if any(&[
        "authentication failed",
        "could not read username",
        "could not read password",
        "terminal prompts disabled",
        "permission denied (publickey",
        "host key verification failed",
        "returned error: 401",
        "returned error: 403",
        "invalid username or password",
    ]) {
        WorkspaceError::AuthFailed { url }
    } else if any(&[
        "repository not found",
        "does not appear to be a git repository",
        "not found",
        "returned error: 404",
    ]) {
        WorkspaceError::RepoNotFound { url }
    } else if any(&["[rejected]", "[remote rejected]", "failed to push"]) {
        WorkspaceError::PushRejected {
            url,
            detail: stderr_detail(stderr),
        }
    } else {
        WorkspaceError::Unreachable {
            url,
            detail: stderr_detail(stderr),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_transfer_failures() {
        let auth = "fatal: could not read Username for 'https://h': terminal prompts disabled";
        assert!(matches!(
            transfer_error("u", auth),
            WorkspaceError::AuthFailed { .. }
        ));
        let refused = "fatal: unable to access 'https://127.0.0.1:1/x.git/': Failed to connect to 127.0.0.1 port 1";
        assert!(matches!(
            transfer_error("u", refused),
            WorkspaceError::Unreachable { .. }
        ));
        let missing = "fatal: '/nope' does not appear to be a git repository";
        assert!(matches!(
            transfer_error("u", missing),
            WorkspaceError::RepoNotFound { .. }
        ));
        let rejected = " ! [rejected]        agentd/x -> agentd/x (non-fast-forward)";
        assert!(matches!(
            transfer_error("u", rejected),
            WorkspaceError::PushRejected { .. }
        ));
    }
}
