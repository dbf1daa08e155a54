//! The values the engine passes in and stores.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Limits for git work; the engine fills them from its config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkspaceLimits {
    /// Longest a clone, fetch or push may take.
    pub clone_timeout: Duration,
    /// Largest repository (packed objects on disk) we keep a mirror of.
    pub max_repo_bytes: u64,
    /// Longest any local git command may take.
    pub git_timeout: Duration,
}

impl Default for WorkspaceLimits {
    fn default() -> Self {
        Self {
            clone_timeout: Duration::from_secs(300),
            max_repo_bytes: 2 * 1024 * 1024 * 1024,
            git_timeout: Duration::from_secs(60),
        }
    }
}

/// A workspace ready for an agent. Serializable, so the engine can store it
/// with the session and rebuild after a restart without preparing again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prepared {
    /// The directory the agent works in.
    pub path: PathBuf,
    pub kind: WorkspaceKind,
    /// The session branch (`agentd/<short>`), for git workspaces.
    pub branch: Option<String>,
    /// The commit the session branch started from.
    pub base: Option<String>,
    /// The `origin` remote, credentials redacted; `None` when there is none.
    pub remote_url: Option<String>,
}

/// Where a workspace came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WorkspaceKind {
    /// A directory that is not a git repository: the agent works in it directly.
    Plain,
    /// A worktree of the user's repository at `repo` (its top level).
    LocalRepo { repo: PathBuf },
    /// A worktree of our cached mirror of `url` (credentials redacted).
    Mirror { url: String, mirror: PathBuf },
}

/// One checkpoint: the whole working tree after a turn.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub turn: u32,
    pub commit: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Lines added and removed in one file (binary files count as 0/0).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStat {
    pub path: String,
    pub added: u64,
    pub removed: u64,
}

/// Whether `finish` pushes the session branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushTarget {
    /// Commit only.
    None,
    /// Push `agentd/<short>` to the `origin` remote under the same name.
    Origin,
}

/// What `finish` did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishResult {
    pub branch: String,
    /// The tip of the session branch when it differs from the base (whether
    /// this call committed or the agent had committed itself); `None` with
    /// `no_changes`.
    pub commit: Option<String>,
    pub pushed: bool,
    /// Files changed between the base and the branch tip.
    pub files_changed: Vec<FileStat>,
    /// Nothing to commit and no commits on the branch: nothing was pushed.
    pub no_changes: bool,
}

/// When `cleanup` removes worktrees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CleanupPolicy {
    /// Worktrees unused for longer than this are candidates.
    pub ttl: Duration,
    /// What to do with a candidate that holds work not saved anywhere else.
    pub unsaved: UnsavedWork,
}

/// Handling of expired worktrees with uncommitted or unpushed work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnsavedWork {
    /// Checkpoint the current state and keep the worktree.
    CheckpointAndKeep,
    /// Checkpoint the current state (unless a checkpoint of it exists), then
    /// remove the worktree; the branch and the checkpoint refs stay.
    CheckpointAndRemove,
}

/// A session's workspace as the engine knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceRecord {
    pub session: String,
    pub workspace: Prepared,
    #[serde(with = "time::serde::rfc3339")]
    pub last_used: OffsetDateTime,
}

/// What `cleanup` did with each record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanupReport {
    pub removed: Vec<Removed>,
    pub kept: Vec<Kept>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    pub session: String,
    pub path: PathBuf,
    pub reason: RemovedReason,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RemovedReason {
    /// Expired and nothing unsaved: worktree, branch and checkpoints removed.
    Clean,
    /// Expired with unsaved work kept in this checkpoint commit; branch stays.
    Checkpointed { commit: String },
    /// The directory was already gone; git's bookkeeping was pruned.
    Missing,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    pub session: String,
    pub path: PathBuf,
    pub reason: KeptReason,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KeptReason {
    /// Used within the TTL.
    Fresh,
    /// A plain directory belongs to the user; we never delete it.
    NotManaged,
    /// Outside our workspaces directory; we never delete it.
    OutsideRoot,
    /// Unsaved work, now saved in this checkpoint commit.
    Unsaved { checkpoint: String },
    /// Something failed; the message says what.
    Failed { error: String },
}
