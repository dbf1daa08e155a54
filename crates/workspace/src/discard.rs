//! Undoing a `prepare` whose session was never created: the worktree and
//! its branch go, so a failed creation leaves nothing behind.

use crate::{Prepared, WorkspaceError, WorkspaceKind, WorkspaceManager};

impl WorkspaceManager {
    /// Remove the worktree and branch `prepare` just made. Plain
    /// directories and anything outside `<data_dir>/workspaces` are never
    /// touched. Only for a workspace no session has used: nothing in it is
    /// checked or saved.
    pub async fn discard(&self, ws: &Prepared) -> Result<(), WorkspaceError> {
        let repo = match &ws.kind {
            WorkspaceKind::Plain => return Ok(()),
            WorkspaceKind::LocalRepo { repo } => repo.clone(),
            WorkspaceKind::Mirror { mirror, .. } => mirror.clone(),
        };
        let Some(root) = self.owned_worktree(&ws.path) else {
            return Ok(());
        };
        self.remove_worktree_and_branch(&repo, &root, ws.branch.as_deref())
            .await?;
        tracing::info!(path = %root.display(), "unused workspace discarded");
        Ok(())
    }
}
