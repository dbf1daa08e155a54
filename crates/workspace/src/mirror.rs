//! The bare repository cache: clone once, fetch on reuse, enforce the size limit.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::WorkspaceManager;
use crate::error::WorkspaceError;
use crate::git::{ALLOWED_PROTOCOLS, Git, transfer_error};
use crate::url::RepoUrl;

/// Remote branches go to `refs/remotes/origin/*`, not `refs/heads/*` as a
/// `--mirror` clone would do: a mirror fetch prunes every local ref the
/// remote lacks, which would delete session branches and checkpoints.
const FETCH_REFSPEC: &str = "+refs/heads/*:refs/remotes/origin/*";

/// Config key recording which repository a cache directory holds.
const IDENTITY_KEY: &str = "agentd.url";

impl WorkspaceManager {
    /// Make `mirror` an up-to-date cache of `url`. The caller holds the repo lock.
    pub(crate) async fn ensure_mirror(
        &self,
        url: &RepoUrl,
        mirror: &Path,
    ) -> Result<(), WorkspaceError> {
        if tokio::fs::try_exists(mirror.join("HEAD"))
            .await
            .unwrap_or(false)
        {
            return self.refresh_mirror(url, mirror).await;
        }
        tokio::fs::create_dir_all(&self.repos)
            .await
            .map_err(|e| WorkspaceError::io("creating the repository cache", &e))?;
        // Clone into a scratch name and rename at the end, so a crash or a
        // failed clone never leaves a half cache that looks usable.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let partial = mirror.with_extension(format!("partial-{}-{nanos}", std::process::id()));
        let result = self.clone_into(url, &partial).await;
        if let Err(err) = result {
            let _ = tokio::fs::remove_dir_all(&partial).await;
            return Err(err);
        }
        // A leftover without HEAD (crash during an old release's clone) is junk.
        let _ = tokio::fs::remove_dir_all(mirror).await;
        if let Err(e) = tokio::fs::rename(&partial, mirror).await {
            let _ = tokio::fs::remove_dir_all(&partial).await;
            return Err(WorkspaceError::io("moving the new repository cache", &e));
        }
        self.clones.fetch_add(1, Ordering::Relaxed);
        tracing::info!(url = %url.display, mirror = %mirror.display(), "repository cached");
        Ok(())
    }

    async fn clone_into(&self, url: &RepoUrl, dir: &Path) -> Result<(), WorkspaceError> {
        let t = self.limits.git_timeout;
        Git::new("init", t)
            .args(["init", "--bare", "--quiet"])
            .arg(dir)
            .run()
            .await?;
        for (key, value) in [
            ("remote.origin.url", url.raw.as_str()),
            ("remote.origin.fetch", FETCH_REFSPEC),
            (IDENTITY_KEY, url.normalized.as_str()),
        ] {
            Git::new("config", t)
                .dir(dir)
                .args(["config", key, value])
                .run()
                .await?;
        }
        self.fetch(url, dir).await?;
        let head = transfer(Git::new("remote set-head", self.limits.clone_timeout).dir(dir))
            .args(["remote", "set-head", "origin", "--auto"])
            .output()
            .await
            .map_err(|e| timeout_as_clone(&url.display, e))?;
        let has_branches = !Git::new("for-each-ref", t)
            .dir(dir)
            .args(["for-each-ref", "--count=1", "refs/remotes/origin/"])
            .run()
            .await?
            .trim()
            .is_empty();
        if !has_branches {
            return Err(WorkspaceError::EmptyRepository(url.display.clone()));
        }
        if !head.success {
            // No remote HEAD is fine as long as callers name a branch.
            tracing::warn!(url = %url.display, "remote HEAD unknown; a branch must be given");
        }
        self.check_size(url, dir).await
    }

    async fn refresh_mirror(&self, url: &RepoUrl, mirror: &Path) -> Result<(), WorkspaceError> {
        let t = self.limits.git_timeout;
        let recorded = Git::new("config", t)
            .dir(mirror)
            .args(["config", "--get", IDENTITY_KEY])
            .line()
            .await
            .unwrap_or_default();
        if recorded != url.normalized {
            return Err(WorkspaceError::Git {
                op: "cache lookup",
                detail: format!(
                    "cache {} belongs to another repository; remove it to continue",
                    mirror.display()
                ),
            });
        }
        // Same repository, maybe a fresh token: the newest URL wins.
        let current = Git::new("config", t)
            .dir(mirror)
            .args(["config", "--get", "remote.origin.url"])
            .line()
            .await
            .unwrap_or_default();
        if current != url.raw {
            Git::new("config", t)
                .dir(mirror)
                .args(["config", "remote.origin.url", url.raw.as_str()])
                .run()
                .await?;
        }
        self.fetch(url, mirror).await?;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        // Over the limit after a fetch: refuse, but keep the cache, since
        // other sessions' worktrees live in it.
        self.check_size(url, mirror).await
    }

    async fn fetch(&self, url: &RepoUrl, dir: &Path) -> Result<(), WorkspaceError> {
        let out = transfer(Git::new("fetch", self.limits.clone_timeout).dir(dir))
            .args(["fetch", "--prune", "--quiet", "origin"])
            .output()
            .await
            .map_err(|e| timeout_as_clone(&url.display, e))?;
        if out.success {
            Ok(())
        } else {
            Err(transfer_error(&url.display, &out.stderr))
        }
    }

    /// The remote's default branch as recorded at clone time.
    pub(crate) async fn default_branch(
        &self,
        url: &RepoUrl,
        mirror: &Path,
    ) -> Result<String, WorkspaceError> {
        let t = self.limits.git_timeout;
        let head = Git::new("symbolic-ref", t)
            .dir(mirror)
            .args(["symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"])
            .line()
            .await
            .unwrap_or_default();
        head.strip_prefix("refs/remotes/origin/")
            .filter(|b| !b.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| WorkspaceError::BranchNotFound {
                url: url.display.clone(),
                branch: "HEAD (the remote has no default branch; name one)".into(),
            })
    }

    async fn check_size(&self, url: &RepoUrl, dir: &Path) -> Result<(), WorkspaceError> {
        let out = Git::new("count-objects", self.limits.git_timeout)
            .dir(dir)
            .args(["count-objects", "-v"])
            .run()
            .await?;
        let size = repo_bytes(&out);
        let limit = self.limits.max_repo_bytes;
        if size > limit {
            return Err(WorkspaceError::RepoTooLarge {
                url: url.display.clone(),
                size,
                limit,
            });
        }
        Ok(())
    }
}

/// Settings for any command that talks to a user-supplied remote.
pub(crate) fn transfer(git: Git) -> Git {
    git.env("GIT_ALLOW_PROTOCOL", ALLOWED_PROTOCOLS)
}

/// A transfer that ran out of time is reported against the repository.
pub(crate) fn timeout_as_clone(url: &str, err: WorkspaceError) -> WorkspaceError {
    match err {
        WorkspaceError::GitTimeout { timeout, .. } => WorkspaceError::CloneTimeout {
            url: url.to_owned(),
            timeout,
        },
        other => other,
    }
}

/// Bytes on disk from `git count-objects -v` (it reports KiB).
fn repo_bytes(count_objects: &str) -> u64 {
    count_objects
        .lines()
        .filter_map(|l| l.split_once(": "))
        .filter(|(k, _)| matches!(*k, "size" | "size-pack" | "size-garbage"))
        .filter_map(|(_, v)| v.trim().parse::<u64>().ok())
        .fold(0u64, |acc, kib| {
            acc.saturating_add(kib.saturating_mul(1024))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_loose_packed_and_garbage_sizes() {
        let out = "count: 3\nsize: 12\nin-pack: 40\npacks: 1\nsize-pack: 100\nprune-packable: 0\ngarbage: 0\nsize-garbage: 1\n";
        assert_eq!(repo_bytes(out), 113 * 1024);
    }
}
