//! Checkpoints: the whole working tree (tracked changes and untracked files,
//! `.gitignore` respected) saved as a commit under
//! `refs/agentd/checkpoints/<session>/<turn>` after every turn, and rollback.
//!
//! Everything goes through a private index file, so HEAD, the branch, the
//! real index and the files stay exactly as the agent left them.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::error::WorkspaceError;
use crate::git::Git;
use crate::{Checkpoint, Prepared, WorkspaceKind, WorkspaceManager, check_session};

pub(crate) fn checkpoint_prefix(session: &str) -> String {
    format!("refs/agentd/checkpoints/{session}/")
}

/// A private index in the worktree's git directory, deleted on drop.
struct ScratchIndex {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl WorkspaceManager {
    /// Save the current state of the working tree as the checkpoint of `turn`.
    /// Plain directories have no history to save into: `Ok(None)`.
    pub async fn checkpoint(
        &self,
        ws: &Prepared,
        session: &str,
        turn: u32,
    ) -> Result<Option<String>, WorkspaceError> {
        check_session(session)?;
        let Some(root) = self.worktree_root(ws).await? else {
            return Ok(None);
        };
        let tree = self.snapshot_tree(&root).await?.0;
        let t = self.limits.git_timeout;
        let previous = self
            .checkpoints_at(&root, session)
            .await?
            .into_iter()
            .rev()
            .find(|c| c.turn < turn)
            .map(|c| c.commit);
        let parent = match previous {
            Some(c) => Some(c),
            None => Git::new("rev-parse", t)
                .dir(&root)
                .args(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])
                .line()
                .await
                .ok(),
        };
        let mut commit_tree = Git::new("commit-tree", t)
            .dir(&root)
            .args(["commit-tree", &tree, "-m"])
            .arg(format!("agentd checkpoint: session {session}, turn {turn}"));
        if let Some(p) = &parent {
            commit_tree = commit_tree.args(["-p", p]);
        }
        let commit = commit_tree.line().await?;
        Git::new("update-ref", t)
            .dir(&root)
            .arg("update-ref")
            .arg(format!("{}{turn}", checkpoint_prefix(session)))
            .arg(&commit)
            .run()
            .await?;
        tracing::debug!(session, turn, %commit, "checkpoint saved");
        Ok(Some(commit))
    }

    /// The session's checkpoints, oldest turn first. Plain directories: none.
    pub async fn checkpoints(
        &self,
        ws: &Prepared,
        session: &str,
    ) -> Result<Vec<Checkpoint>, WorkspaceError> {
        check_session(session)?;
        match self.worktree_root(ws).await? {
            Some(root) => self.checkpoints_at(&root, session).await,
            None => Ok(Vec::new()),
        }
    }

    /// Make the working tree exactly what it was at the checkpoint of `turn`:
    /// files created since are deleted, deleted ones come back, edits are
    /// undone. Ignored files, HEAD, the branch and the index are left alone.
    pub async fn rollback(
        &self,
        ws: &Prepared,
        session: &str,
        turn: u32,
    ) -> Result<(), WorkspaceError> {
        check_session(session)?;
        let Some(root) = self.worktree_root(ws).await? else {
            return Err(WorkspaceError::NotGit);
        };
        let t = self.limits.git_timeout;
        let target = Git::new("rev-parse", t)
            .dir(&root)
            .args(["rev-parse", "--verify", "--quiet"])
            .arg(format!("{}{turn}^{{commit}}", checkpoint_prefix(session)))
            .line()
            .await
            .map_err(|_| WorkspaceError::CheckpointNotFound {
                session: session.to_owned(),
                turn,
            })?;
        // The scratch index describes the current state (every non-ignored
        // file), so a one-way merge to the target deletes what the target
        // lacks, writes what differs and skips unchanged files by stat.
        let (_, index) = self.snapshot_tree(&root).await?;
        Git::new("read-tree", t)
            .dir(&root)
            .index(&index.path)
            .args(["read-tree", "--reset", "-u", &target])
            .run()
            .await?;
        tracing::info!(session, turn, "workspace rolled back");
        Ok(())
    }

    /// The top of the worktree the workspace lives in; `None` for plain dirs.
    pub(crate) async fn worktree_root(
        &self,
        ws: &Prepared,
    ) -> Result<Option<PathBuf>, WorkspaceError> {
        match &ws.kind {
            WorkspaceKind::Plain => Ok(None),
            WorkspaceKind::LocalRepo { .. } | WorkspaceKind::Mirror { .. } => {
                let top = Git::new("rev-parse", self.limits.git_timeout)
                    .dir(&ws.path)
                    .args(["rev-parse", "--show-toplevel"])
                    .line()
                    .await?;
                Ok(Some(PathBuf::from(top)))
            }
        }
    }

    /// Write the current working-tree state as a tree object; returns it with
    /// the scratch index that describes it.
    async fn snapshot_tree(&self, root: &Path) -> Result<(String, ScratchIndex), WorkspaceError> {
        let t = self.limits.git_timeout;
        let git_dir = PathBuf::from(
            Git::new("rev-parse", t)
                .dir(root)
                .args(["rev-parse", "--absolute-git-dir"])
                .line()
                .await?,
        );
        let dir = tempfile::Builder::new()
            .prefix("agentd-index-")
            .tempdir_in(&git_dir)
            .map_err(|e| WorkspaceError::io("creating a scratch index", &e))?;
        let index = ScratchIndex {
            path: dir.path().join("index"),
            _dir: dir,
        };
        // Starting from a copy of the real index lets `add -A` skip files
        // whose stat data is unchanged instead of hashing the whole tree.
        if tokio::fs::copy(git_dir.join("index"), &index.path)
            .await
            .is_err()
        {
            Git::new("read-tree", t)
                .dir(root)
                .index(&index.path)
                .args(["read-tree", "HEAD"])
                .run()
                .await?;
        }
        Git::new("add", t)
            .dir(root)
            .index(&index.path)
            .args(["add", "--all", "--", "."])
            .run()
            .await?;
        let tree = Git::new("write-tree", t)
            .dir(root)
            .index(&index.path)
            .arg("write-tree")
            .line()
            .await?;
        Ok((tree, index))
    }

    /// The tree the working tree would be saved as right now.
    pub(crate) async fn current_tree(&self, root: &Path) -> Result<String, WorkspaceError> {
        Ok(self.snapshot_tree(root).await?.0)
    }

    pub(crate) async fn checkpoints_at(
        &self,
        root: &Path,
        session: &str,
    ) -> Result<Vec<Checkpoint>, WorkspaceError> {
        let prefix = checkpoint_prefix(session);
        let out = Git::new("for-each-ref", self.limits.git_timeout)
            .dir(root)
            .args([
                "for-each-ref",
                "--format=%(refname)%09%(objectname)%09%(creatordate:unix)",
                &prefix,
            ])
            .run()
            .await?;
        let mut list: Vec<Checkpoint> = out
            .lines()
            .filter_map(|line| parse_checkpoint_line(line, &prefix))
            .collect();
        list.sort_by_key(|c| c.turn);
        Ok(list)
    }
}

fn parse_checkpoint_line(line: &str, prefix: &str) -> Option<Checkpoint> {
    let mut parts = line.split('\t');
    let turn = parts.next()?.strip_prefix(prefix)?.parse::<u32>().ok()?;
    let commit = parts.next()?.to_owned();
    let secs = parts.next()?.trim().parse::<i64>().ok()?;
    let created_at = OffsetDateTime::from_unix_timestamp(secs).ok()?;
    Some(Checkpoint {
        turn,
        commit,
        created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_for_each_ref_lines_and_skips_strangers() {
        let p = checkpoint_prefix("s1");
        let c = parse_checkpoint_line(&format!("{p}7\tabc\t1700000000"), &p).unwrap();
        assert_eq!(c.turn, 7);
        assert_eq!(c.commit, "abc");
        assert_eq!(c.created_at.unix_timestamp(), 1_700_000_000);
        assert!(parse_checkpoint_line(&format!("{p}x\tabc\t1"), &p).is_none());
        assert!(parse_checkpoint_line("refs/heads/main\tabc\t1", &p).is_none());
    }
}
