//! The directory an agent works in: preparing it from a local path or a git
//! URL, checkpointing it after every turn, rolling it back, finishing a task
//! (commit, push, pull-request body) and removing expired worktrees.
//!
//! Layout under the server's data directory:
//!
//! - `workspaces/<short>`: one git worktree per session, on branch
//!   `agentd/<short>`. The user's own checkout is never used directly.
//! - `repos/<hash>.git`: one bare cache per remote repository, cloned once and
//!   fetched on every later session (remote branches live under
//!   `refs/remotes/origin/*`, so a fetch can never clobber session branches).
//! - checkpoints are commits under `refs/agentd/checkpoints/<session>/<turn>`
//!   in the repository the worktree belongs to; HEAD, the branch, the index
//!   and the working tree are not touched when one is taken.
//!
//! We drive the `git` command line rather than linking git2 or gix: clone,
//! fetch and push then behave exactly as the user's own git does —
//! transports, `insteadOf` rewrites, credential helpers, SSH keys and agent,
//! proxies — with nothing to reimplement or keep in sync. Every call goes
//! through one runner (`git::Git`) with an argument vector, a timeout that
//! kills the process group, no terminal prompts and no system config.
//!
//! Architecture invariant: no dependency on the store, server, llm or tools
//! crates; the session engine (core) calls this crate and stores [`Prepared`].
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod checkpoint;
mod cleanup;
mod discard;
mod error;
mod finish;
mod git;
mod mirror;
mod pr;
mod prepare;
mod types;
mod url;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

pub use error::{WorkspaceError, redact};
pub use pr::pr_body;
pub use types::{
    Checkpoint, CleanupPolicy, CleanupReport, FileStat, FinishResult, Kept, KeptReason, Prepared,
    PushTarget, Removed, RemovedReason, UnsavedWork, WorkspaceKind, WorkspaceLimits,
    WorkspaceRecord,
};

/// Prepares and manages session workspaces under one data directory.
#[derive(Debug)]
pub struct WorkspaceManager {
    workspaces: PathBuf,
    repos: PathBuf,
    limits: WorkspaceLimits,
    /// One async lock per repository, so clone/fetch/worktree-add on the same
    /// repository never race on git's lock files. Entries are tiny and bounded
    /// by the number of distinct repositories, so they are never evicted.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    clones: AtomicU64,
    fetches: AtomicU64,
}

/// Counters for metrics (and for tests that must prove a clone was reused).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkspaceStats {
    /// Mirrors cloned from scratch.
    pub clones: u64,
    /// Fetches into an existing mirror.
    pub fetches: u64,
}

impl WorkspaceManager {
    /// Nothing is created on disk until the first workspace is prepared.
    pub fn new(data_dir: &Path, limits: WorkspaceLimits) -> Self {
        // git runs with other working directories, so every path we hand it
        // must be absolute; fall back to the given path if cwd is unreadable.
        let data_dir = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
        Self {
            workspaces: data_dir.join("workspaces"),
            repos: data_dir.join("repos"),
            limits,
            locks: Mutex::new(HashMap::new()),
            clones: AtomicU64::new(0),
            fetches: AtomicU64::new(0),
        }
    }

    pub fn limits(&self) -> WorkspaceLimits {
        self.limits
    }

    /// Where session worktrees live (`<data_dir>/workspaces`).
    pub fn workspaces_dir(&self) -> &Path {
        &self.workspaces
    }

    /// Where repository caches live (`<data_dir>/repos`).
    pub fn repos_dir(&self) -> &Path {
        &self.repos
    }

    pub fn stats(&self) -> WorkspaceStats {
        WorkspaceStats {
            clones: self.clones.load(Ordering::Relaxed),
            fetches: self.fetches.load(Ordering::Relaxed),
        }
    }

    fn repo_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        // The std lock is held only for the map lookup, never across an await.
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        locks.entry(key.to_owned()).or_default().clone()
    }
}

/// The short name of a session used for its branch and directory: the last
/// 12 letters/digits of the id, lowercased. For UUIDv7 ids that is the random
/// tail; the leading characters are a timestamp shared by every session
/// created within the same minute or so, and would collide.
pub fn session_short(session: &str) -> String {
    let alnum: Vec<char> = session
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    alnum[alnum.len().saturating_sub(12)..].iter().collect()
}

/// Session ids become part of ref names and paths, so only a safe alphabet passes.
pub(crate) fn check_session(session: &str) -> Result<(), WorkspaceError> {
    let ok = !session.is_empty()
        && session.len() <= 128
        && !session.starts_with('-')
        && session.chars().any(|c| c.is_ascii_alphanumeric())
        && session
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(WorkspaceError::InvalidSession(session.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_short_uses_the_random_tail() {
        assert_eq!(
            session_short("0190f3a2-7b1c-7d00-8e4f-A1B2C3D4E5F6"),
            "a1b2c3d4e5f6"
        );
        assert_eq!(session_short("abc"), "abc");
    }

    #[test]
    fn session_ids_are_checked() {
        assert!(check_session("0190f3a2-7b1c-7d00-8e4f-a1b2c3d4e5f6").is_ok());
        assert!(check_session("s_1").is_ok());
        for bad in ["", "-x", "a/b", "a..b", "___", "a b", &"a".repeat(129)] {
            assert!(check_session(bad).is_err(), "{bad:?}");
        }
    }
}
