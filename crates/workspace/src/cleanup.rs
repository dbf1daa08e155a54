//! Removing worktrees that outlived their TTL, without ever losing work.

use std::path::{Component, Path, PathBuf};

use time::OffsetDateTime;

use crate::checkpoint::checkpoint_prefix;
use crate::error::WorkspaceError;
use crate::git::Git;
use crate::{
    CleanupPolicy, CleanupReport, Kept, KeptReason, Removed, RemovedReason, UnsavedWork,
    WorkspaceKind, WorkspaceManager, WorkspaceRecord, check_session,
};

enum Outcome {
    Removed(RemovedReason),
    Kept(KeptReason),
}

impl WorkspaceManager {
    /// Remove the worktrees of `sessions` unused for longer than the TTL.
    ///
    /// A worktree with uncommitted changes, untracked files, or commits on its
    /// branch that no remote has is never removed without a checkpoint of its
    /// current state: one is taken first (unless the newest already matches),
    /// then the policy decides whether the worktree stays. Plain directories
    /// and anything outside `<data_dir>/workspaces` are never touched. A
    /// failure on one record is reported and the sweep goes on.
    pub async fn cleanup(
        &self,
        policy: &CleanupPolicy,
        sessions: &[WorkspaceRecord],
    ) -> Result<CleanupReport, WorkspaceError> {
        let now = OffsetDateTime::now_utc();
        let mut report = CleanupReport::default();
        for record in sessions {
            let path = record.workspace.path.clone();
            let session = record.session.clone();
            match self.sweep(policy, now, record).await {
                Ok(Outcome::Removed(reason)) => report.removed.push(Removed {
                    session,
                    path,
                    reason,
                }),
                Ok(Outcome::Kept(reason)) => report.kept.push(Kept {
                    session,
                    path,
                    reason,
                }),
                Err(err) => {
                    tracing::warn!(session, error = %err, "workspace cleanup failed");
                    report.kept.push(Kept {
                        session,
                        path,
                        reason: KeptReason::Failed {
                            error: err.to_string(),
                        },
                    });
                }
            }
        }
        Ok(report)
    }

    async fn sweep(
        &self,
        policy: &CleanupPolicy,
        now: OffsetDateTime,
        record: &WorkspaceRecord,
    ) -> Result<Outcome, WorkspaceError> {
        check_session(&record.session)?;
        let age = now - record.last_used;
        if age.is_negative() || age.unsigned_abs() < policy.ttl {
            return Ok(Outcome::Kept(KeptReason::Fresh));
        }
        let ws = &record.workspace;
        let repo = match &ws.kind {
            WorkspaceKind::Plain => return Ok(Outcome::Kept(KeptReason::NotManaged)),
            WorkspaceKind::LocalRepo { repo } => repo.clone(),
            WorkspaceKind::Mirror { mirror, .. } => mirror.clone(),
        };
        let Some(root) = self.owned_worktree(&ws.path) else {
            return Ok(Outcome::Kept(KeptReason::OutsideRoot));
        };
        let t = self.limits.git_timeout;
        if !tokio::fs::try_exists(&root).await.unwrap_or(true) {
            // Only our cache is pruned: pruning the user's repository would also
            // forget their own worktrees on, say, an unmounted drive.
            if matches!(ws.kind, WorkspaceKind::Mirror { .. }) {
                Git::new("worktree prune", t)
                    .dir(&repo)
                    .args(["worktree", "prune"])
                    .run()
                    .await?;
            }
            return Ok(Outcome::Removed(RemovedReason::Missing));
        }

        if !self.has_unsaved_work(&root, ws.base.as_deref()).await? {
            // Nothing on the branch is missing from a remote (or it never
            // moved), and the checkpoints only hold states that no longer matter.
            self.remove_worktree_and_branch(&repo, &root, ws.branch.as_deref())
                .await?;
            for c in self.checkpoints_at(&repo, &record.session).await? {
                Git::new("update-ref", t)
                    .dir(&repo)
                    .args(["update-ref", "-d"])
                    .arg(format!("{}{}", checkpoint_prefix(&record.session), c.turn))
                    .run()
                    .await?;
            }
            return Ok(Outcome::Removed(RemovedReason::Clean));
        }

        let commit = self.checkpoint_current(record, &root).await?;
        match policy.unsaved {
            UnsavedWork::CheckpointAndKeep => {
                Ok(Outcome::Kept(KeptReason::Unsaved { checkpoint: commit }))
            }
            UnsavedWork::CheckpointAndRemove => {
                self.remove_worktree(&repo, &root).await?;
                Ok(Outcome::Removed(RemovedReason::Checkpointed { commit }))
            }
        }
    }

    /// The worktree directory `<workspaces>/<short>` that holds `path`, if
    /// `path` is inside our workspaces directory at all.
    pub(crate) fn owned_worktree(&self, path: &Path) -> Option<PathBuf> {
        let rest = path.strip_prefix(&self.workspaces).ok()?;
        match rest.components().next()? {
            Component::Normal(name) => Some(self.workspaces.join(name)),
            Component::Prefix(_)
            | Component::RootDir
            | Component::CurDir
            | Component::ParentDir => None,
        }
    }

    /// Uncommitted changes, untracked files, or commits since `base` that no
    /// remote-tracking branch contains.
    async fn has_unsaved_work(
        &self,
        root: &Path,
        base: Option<&str>,
    ) -> Result<bool, WorkspaceError> {
        let t = self.limits.git_timeout;
        let status = Git::new("status", t)
            .dir(root)
            .args(["status", "--porcelain=v1", "-z", "--untracked-files=all"])
            .run()
            .await?;
        if !status.is_empty() {
            return Ok(true);
        }
        let tip = Git::new("rev-parse", t)
            .dir(root)
            .args(["rev-parse", "HEAD"])
            .line()
            .await?;
        let Some(base) = base else {
            return Ok(true);
        };
        if tip == base {
            return Ok(false);
        }
        let ahead = Git::new("rev-list", t)
            .dir(root)
            .args(["rev-list", "--count", &tip, "--not", base, "--remotes"])
            .line()
            .await?;
        Ok(ahead != "0")
    }

    /// A checkpoint of the current state: the newest one if it already
    /// matches, otherwise a new one after it.
    async fn checkpoint_current(
        &self,
        record: &WorkspaceRecord,
        root: &Path,
    ) -> Result<String, WorkspaceError> {
        let latest = self
            .checkpoints_at(root, &record.session)
            .await?
            .into_iter()
            .last();
        if let Some(c) = &latest {
            let saved = Git::new("rev-parse", self.limits.git_timeout)
                .dir(root)
                .args(["rev-parse"])
                .arg(format!("{}^{{tree}}", c.commit))
                .line()
                .await?;
            if saved == self.current_tree(root).await? {
                return Ok(c.commit.clone());
            }
        }
        let turn = latest.map_or(1, |c| c.turn.saturating_add(1));
        self.checkpoint(&record.workspace, &record.session, turn)
            .await?
            .ok_or(WorkspaceError::NotGit)
    }

    /// `git worktree remove --force` the worktree at `root`, then delete its
    /// branch.
    pub(crate) async fn remove_worktree_and_branch(
        &self,
        repo: &Path,
        root: &Path,
        branch: Option<&str>,
    ) -> Result<(), WorkspaceError> {
        self.remove_worktree(repo, root).await?;
        if let Some(branch) = branch {
            Git::new("branch", self.limits.git_timeout)
                .dir(repo)
                .args(["branch", "--quiet", "-D", branch])
                .run()
                .await?;
        }
        Ok(())
    }

    async fn remove_worktree(&self, repo: &Path, root: &Path) -> Result<(), WorkspaceError> {
        // --force: ignored files (build output) would block a plain remove;
        // unsaved work has been checked or checkpointed by now.
        Git::new("worktree remove", self.limits.git_timeout)
            .dir(repo)
            .args(["worktree", "remove", "--force"])
            .arg(root)
            .run()
            .await?;
        tracing::info!(path = %root.display(), "workspace worktree removed");
        Ok(())
    }
}
