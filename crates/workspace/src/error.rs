//! The one error type, and the redaction every user-visible string passes through.

use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;

/// What went wrong while preparing or working with a workspace.
///
/// Every message is safe to show the person who made the request: URLs have
/// their `user:password@` part replaced by `***@`, and git's own output is
/// redacted the same way before it is stored in a variant.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// The repository URL is not one we accept (the caller must fix it).
    #[error("invalid repository URL: {reason}")]
    InvalidUrl { reason: String },
    /// The local path does not exist, is not absolute or is not a directory.
    #[error("workspace path {path} is not usable: {reason}")]
    InvalidPath { path: String, reason: String },
    /// Session ids end up in ref and directory names, so they are restricted.
    #[error("invalid session id {0:?}: use letters, digits, '-' and '_' (at most 128)")]
    InvalidSession(String),
    /// The branch name is not a valid git branch name.
    #[error("invalid branch name {0:?}")]
    InvalidBranch(String),
    /// The requested branch does not exist on the remote.
    #[error("branch {branch:?} does not exist in {url}")]
    BranchNotFound { url: String, branch: String },
    /// The remote asked for credentials we do not have, or refused them.
    #[error(
        "authentication failed for {url}: give the server's git access \
         (credential helper or SSH key), or use a public URL"
    )]
    AuthFailed { url: String },
    /// The remote answered but has no such repository.
    #[error("repository not found: {url}")]
    RepoNotFound { url: String },
    /// The network or host failed; trying again later may work.
    #[error("cannot reach {url}: {detail}")]
    Unreachable { url: String, detail: String },
    /// Cloning, fetching or pushing took longer than the limit allows.
    #[error("git transfer with {url} took longer than {} s", .timeout.as_secs())]
    CloneTimeout { url: String, timeout: Duration },
    /// The repository is larger than the configured limit; nothing was kept.
    #[error("repository {url} is too large: {size} bytes, the limit is {limit} bytes")]
    RepoTooLarge { url: String, size: u64, limit: u64 },
    /// There is no commit to branch from.
    #[error("repository {0} has no commits yet")]
    EmptyRepository(String),
    /// A workspace directory or branch for this session is already there.
    #[error("a workspace for session {0} already exists")]
    AlreadyExists(String),
    /// The operation needs git, and this workspace is a plain directory.
    #[error("this workspace is a plain directory, not a git checkout")]
    NotGit,
    /// Rollback to a turn that was never checkpointed.
    #[error("no checkpoint for turn {turn} of session {session}")]
    CheckpointNotFound { session: String, turn: u32 },
    /// Push was asked for, and the repository has no `origin` remote.
    #[error("the repository has no remote named origin")]
    NoOrigin,
    /// A commit message must say something.
    #[error("the commit message is empty")]
    EmptyMessage,
    /// The remote refused the push (protected branch, non-fast-forward, hook).
    #[error("push to {url} was rejected: {detail}")]
    PushRejected { url: String, detail: String },
    /// A local git command ran past its timeout and was killed.
    #[error("git {op} timed out after {} s", .timeout.as_secs())]
    GitTimeout { op: &'static str, timeout: Duration },
    /// A local git command failed for a reason not listed above.
    #[error("git {op} failed: {detail}")]
    Git { op: &'static str, detail: String },
    /// `git` could not be started at all.
    #[error("cannot run git: {0}")]
    GitMissing(String),
    /// A filesystem operation of our own failed.
    #[error("{op}: {detail}")]
    Io { op: &'static str, detail: String },
}

impl WorkspaceError {
    /// True when the request itself was wrong (bad URL, path, branch, id…):
    /// retrying the same request cannot succeed; the caller must change it.
    pub fn is_caller_error(&self) -> bool {
        match self {
            Self::InvalidUrl { .. }
            | Self::InvalidPath { .. }
            | Self::InvalidSession(_)
            | Self::InvalidBranch(_)
            | Self::BranchNotFound { .. }
            | Self::AuthFailed { .. }
            | Self::RepoNotFound { .. }
            | Self::RepoTooLarge { .. }
            | Self::EmptyRepository(_)
            | Self::AlreadyExists(_)
            | Self::NotGit
            | Self::CheckpointNotFound { .. }
            | Self::NoOrigin
            | Self::EmptyMessage
            | Self::PushRejected { .. } => true,
            Self::Unreachable { .. }
            | Self::CloneTimeout { .. }
            | Self::GitTimeout { .. }
            | Self::Git { .. }
            | Self::GitMissing(_)
            | Self::Io { .. } => false,
        }
    }

    /// True when the same request may succeed later (network trouble, timeouts).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Unreachable { .. } | Self::CloneTimeout { .. } | Self::GitTimeout { .. }
        )
    }

    pub(crate) fn io(op: &'static str, err: &std::io::Error) -> Self {
        Self::Io {
            op,
            detail: redact(&err.to_string()),
        }
    }
}

// Any `scheme://userinfo@` — tokens often travel as the user part alone
// (`https://<token>@github.com/...`), so the whole userinfo goes, not just a password.
static USERINFO: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@").ok());

/// Replace credentials embedded in URLs anywhere in `text` with `***`.
pub fn redact(text: &str) -> String {
    match USERINFO.as_ref() {
        Some(re) => re.replace_all(text, "${1}***@").into_owned(),
        // The pattern is a constant that compiles; this arm only keeps us panic-free.
        None => String::from("[redacted]"),
    }
}

/// The last part of git's stderr, redacted and cut on a character boundary:
/// git puts the useful line (`fatal: …`) at the end.
pub(crate) fn stderr_detail(stderr: &str) -> String {
    const MAX_CHARS: usize = 600;
    let trimmed = stderr.trim();
    let count = trimmed.chars().count();
    let tail: String = if count > MAX_CHARS {
        trimmed.chars().skip(count - MAX_CHARS).collect()
    } else {
        trimmed.to_owned()
    };
    let detail = redact(&tail);
    if detail.is_empty() {
        "no output from git".into()
    } else {
        detail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_user_and_password_in_urls() {
        assert_eq!(
            redact("fatal: could not read from https://bob:s3cret@example.com/r.git"),
            "fatal: could not read from https://***@example.com/r.git"
        );
        assert_eq!(
            redact("ssh://ghp_token@github.com/o/r and https://x.org/r"),
            "ssh://***@github.com/o/r and https://x.org/r"
        );
        // scp-like addresses carry a login name, not a secret.
        assert_eq!(redact("git@github.com:o/r.git"), "git@github.com:o/r.git");
    }

    #[test]
    fn stderr_detail_keeps_the_tail_on_char_boundaries() {
        let long = format!("{}fatal: the end", "é".repeat(1000));
        let d = stderr_detail(&long);
        assert!(d.ends_with("fatal: the end"));
        assert_eq!(d.chars().count(), 600);
        assert_eq!(stderr_detail("  \n"), "no output from git");
    }

    #[test]
    fn messages_never_show_credentials() {
        let e = WorkspaceError::AuthFailed {
            url: redact("https://u:p@h/r"),
        };
        assert!(!e.to_string().contains("u:p"));
    }
}
