//! Finishing a task: commit everything on the session branch, push it, and
//! report the files changed since the branch started.

use std::path::Path;

use crate::error::{WorkspaceError, redact, stderr_detail};
use crate::git::{Git, transfer_error};
use crate::mirror::{timeout_as_clone, transfer};
use crate::{FileStat, FinishResult, Prepared, PushTarget, WorkspaceKind, WorkspaceManager};

impl WorkspaceManager {
    /// Commit all changes (tracked and untracked, `.gitignore` respected) on
    /// the session branch with `message`, and push the branch to `origin`
    /// when asked. With nothing to commit and no commits on the branch, no
    /// commit is made, nothing is pushed and `no_changes` is set.
    pub async fn finish(
        &self,
        ws: &Prepared,
        message: &str,
        push: PushTarget,
    ) -> Result<FinishResult, WorkspaceError> {
        self.finish_as(ws, message, push, None).await
    }

    /// [`finish`](Self::finish), pushing over HTTPS with `token` (a GitHub
    /// token: the session owner's own) instead of the server's git
    /// credentials. The token goes to git through its environment, never
    /// its arguments, so no process listing shows it.
    pub async fn finish_as(
        &self,
        ws: &Prepared,
        message: &str,
        push: PushTarget,
        token: Option<&str>,
    ) -> Result<FinishResult, WorkspaceError> {
        let (Some(root), Some(branch)) = (self.worktree_root(ws).await?, ws.branch.clone()) else {
            return Err(WorkspaceError::NotGit);
        };
        if message.trim().is_empty() {
            return Err(WorkspaceError::EmptyMessage);
        }
        let t = self.limits.git_timeout;
        let head_ref = Git::new("symbolic-ref", t)
            .dir(&root)
            .args(["symbolic-ref", "--quiet", "HEAD"])
            .line()
            .await
            .unwrap_or_default();
        if head_ref != format!("refs/heads/{branch}") {
            // Committing elsewhere would leave the session branch without the work.
            return Err(WorkspaceError::Git {
                op: "finish",
                detail: format!("the worktree is not on {branch} (HEAD is {head_ref:?})"),
            });
        }
        Git::new("add", t)
            .dir(&root)
            .args(["add", "--all", "--", "."])
            .run()
            .await?;
        let staged = !Git::new("diff", t)
            .dir(&root)
            .args(["diff", "--cached", "--quiet"])
            .output()
            .await?
            .success;
        if staged {
            Git::new("commit", t)
                .dir(&root)
                // whitespace cleanup only: the default would strip lines
                // starting with '#', such as "#123: fix…".
                .args([
                    "commit",
                    "--quiet",
                    "--no-verify",
                    "--cleanup=whitespace",
                    "-m",
                ])
                .arg(message)
                .run()
                .await?;
        }
        let tip = Git::new("rev-parse", t)
            .dir(&root)
            .args(["rev-parse", "HEAD"])
            .line()
            .await?;
        let no_changes = match &ws.base {
            Some(base) => *base == tip,
            None => !staged,
        };
        let files_changed = match &ws.base {
            Some(base) if !no_changes => self.numstat(&root, base, &tip).await?,
            Some(_) | None => Vec::new(),
        };
        let pushed = match push {
            PushTarget::None => false,
            PushTarget::Origin if no_changes => false,
            PushTarget::Origin => {
                self.push(ws, &root, &branch, token).await?;
                true
            }
        };
        tracing::info!(%branch, %tip, pushed, no_changes, "task finished");
        Ok(FinishResult {
            branch,
            commit: (!no_changes).then_some(tip),
            pushed,
            files_changed,
            no_changes,
        })
    }

    async fn push(
        &self,
        ws: &Prepared,
        root: &Path,
        branch: &str,
        token: Option<&str>,
    ) -> Result<(), WorkspaceError> {
        let origin = Git::new("remote get-url", self.limits.git_timeout)
            .dir(root)
            .args(["remote", "get-url", "origin"])
            .line()
            .await
            .map_err(|_| WorkspaceError::NoOrigin)?;
        let url = ws.remote_url.clone().unwrap_or_else(|| redact(&origin));
        let mut git = Git::new("push", self.limits.clone_timeout).dir(root);
        match &ws.kind {
            // The cache's remote came from an API caller: same protocol limits as fetch.
            WorkspaceKind::Mirror { .. } => git = transfer(git),
            // The user's own remote: their git, their rules.
            WorkspaceKind::LocalRepo { .. } | WorkspaceKind::Plain => {}
        }
        if let Some(token) = token {
            git = git
                .env("GIT_CONFIG_COUNT", "1")
                .env("GIT_CONFIG_KEY_0", "http.extraHeader")
                .env("GIT_CONFIG_VALUE_0", token_header(token));
        }
        let out = git
            .args(["push", "--quiet", "origin"])
            .arg(format!("refs/heads/{branch}:refs/heads/{branch}"))
            .output()
            .await
            .map_err(|e| timeout_as_clone(&url, e))?;
        if out.success {
            Ok(())
        } else {
            Err(transfer_error(&url, &out.stderr))
        }
    }

    async fn numstat(
        &self,
        root: &Path,
        base: &str,
        tip: &str,
    ) -> Result<Vec<FileStat>, WorkspaceError> {
        let out = Git::new("diff", self.limits.git_timeout)
            .dir(root)
            .args(["diff", "--numstat", "-z", "--no-renames", base, tip])
            .output()
            .await?;
        if !out.success {
            return Err(WorkspaceError::Git {
                op: "diff",
                detail: stderr_detail(&out.stderr),
            });
        }
        Ok(parse_numstat(&out.stdout))
    }
}

/// `git diff --numstat -z --no-renames`: `added\tremoved\tpath\0` per file,
/// `-\t-` for binary files (counted as 0/0).
fn parse_numstat(out: &str) -> Vec<FileStat> {
    out.split('\0')
        .filter_map(|rec| {
            let mut parts = rec.splitn(3, '\t');
            let added = parts.next()?;
            let removed = parts.next()?;
            let path = parts.next()?;
            Some(FileStat {
                path: path.to_owned(),
                added: added.parse().unwrap_or(0),
                removed: removed.parse().unwrap_or(0),
            })
        })
        .collect()
}

/// The HTTP header that authenticates git to GitHub with a token (GitHub
/// takes any user name with the token as the password).
fn token_header(token: &str) -> String {
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"));
    format!("Authorization: Basic {basic}")
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn parses_numstat_including_binary_and_tabs_in_names() {
        let out = ["3\t1\tsrc/a.rs", "-\t-\timg.png", "0\t2\tweird\tname", ""].join("\0");
        assert_eq!(
            parse_numstat(&out),
            vec![
                FileStat {
                    path: "src/a.rs".into(),
                    added: 3,
                    removed: 1
                },
                FileStat {
                    path: "img.png".into(),
                    added: 0,
                    removed: 0
                },
                FileStat {
                    path: "weird\tname".into(),
                    added: 0,
                    removed: 2
                },
            ]
        );
    }
    #[test]
    fn a_token_becomes_a_basic_authorization_header() {
        assert_eq!(
            super::token_header("ghp_abc"),
            "Authorization: Basic eC1hY2Nlc3MtdG9rZW46Z2hwX2FiYw=="
        );
    }
}
