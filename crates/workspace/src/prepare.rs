//! Turning a `WorkspaceSpec` into a directory: a plain directory, a worktree
//! of the user's repository, or a worktree of our cached mirror of a URL.

use std::path::{Path, PathBuf};

use agentd_protocol::WorkspaceSpec;

use crate::error::{WorkspaceError, redact, stderr_detail};
use crate::git::Git;
use crate::url::RepoUrl;
use crate::{Prepared, WorkspaceKind, WorkspaceManager, check_session, session_short};

/// Every session branch lives under this prefix.
pub(crate) const BRANCH_PREFIX: &str = "agentd/";

impl WorkspaceManager {
    /// Prepare the directory for `session` (its full id).
    ///
    /// - A local directory that is not in a git repository is used directly
    ///   ([`WorkspaceKind::Plain`]).
    /// - A local directory inside a git repository gets a new worktree under
    ///   `<data_dir>/workspaces/<short>` on branch `agentd/<short>` from the
    ///   repository's HEAD; the user's checkout (HEAD, index, files) is not
    ///   touched. When the path is a subdirectory, the agent works in the same
    ///   subdirectory of the worktree.
    /// - A git URL is cloned once into a bare cache and fetched on reuse; the
    ///   worktree starts from `origin/<branch>` (default: the remote's HEAD).
    pub async fn prepare(
        &self,
        session: &str,
        spec: &WorkspaceSpec,
    ) -> Result<Prepared, WorkspaceError> {
        check_session(session)?;
        match spec {
            WorkspaceSpec::Path { path } => self.prepare_path(session, path).await,
            WorkspaceSpec::Git { git } => {
                self.prepare_url(session, &git.url, git.branch.as_deref())
                    .await
            }
        }
    }

    async fn prepare_path(&self, session: &str, path: &str) -> Result<Prepared, WorkspaceError> {
        let invalid = |reason: String| WorkspaceError::InvalidPath {
            path: path.to_owned(),
            reason,
        };
        if !Path::new(path).is_absolute() {
            return Err(invalid("it must be absolute".into()));
        }
        let dir = tokio::fs::canonicalize(path)
            .await
            .map_err(|e| invalid(e.kind().to_string()))?;
        if !dir.is_dir() {
            return Err(invalid("it is not a directory".into()));
        }
        let t = self.limits.git_timeout;
        let probe = Git::new("rev-parse", t)
            .dir(&dir)
            .args(["rev-parse", "--is-inside-work-tree"])
            .output()
            .await?;
        if !probe.success {
            // Only "not a repository" means plain. Anything else (a repository
            // git refuses, e.g. dubious ownership) must not fall back to
            // letting the agent write into the user's checkout.
            if probe.stderr.contains("not a git repository") {
                return Ok(Prepared {
                    path: dir,
                    kind: WorkspaceKind::Plain,
                    branch: None,
                    base: None,
                    remote_url: None,
                });
            }
            return Err(invalid(stderr_detail(&probe.stderr)));
        }
        if probe.stdout.trim() != "true" {
            return Err(invalid(
                "it is a bare repository or a .git directory; pass it as a git URL".into(),
            ));
        }
        let top = PathBuf::from(
            Git::new("rev-parse", t)
                .dir(&dir)
                .args(["rev-parse", "--show-toplevel"])
                .line()
                .await?,
        );
        let prefix = Git::new("rev-parse", t)
            .dir(&dir)
            .args(["rev-parse", "--show-prefix"])
            .line()
            .await?;
        let base = Git::new("rev-parse", t)
            .dir(&top)
            .args(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])
            .line()
            .await
            .map_err(|_| WorkspaceError::EmptyRepository(top.display().to_string()))?;

        let lock = self.repo_lock(&format!("local:{}", top.display()));
        let _guard = lock.lock().await;
        let (worktree, branch) = self.add_worktree(session, &top, &base).await?;
        let path = worktree.join(&prefix);
        // The subdirectory may hold only untracked files in the user's checkout.
        tokio::fs::create_dir_all(&path)
            .await
            .map_err(|e| WorkspaceError::io("creating the workspace subdirectory", &e))?;
        let remote_url = Git::new("remote get-url", t)
            .dir(&top)
            .args(["remote", "get-url", "origin"])
            .line()
            .await
            .ok()
            .map(|u| redact(&u));
        Ok(Prepared {
            path,
            kind: WorkspaceKind::LocalRepo { repo: top },
            branch: Some(branch),
            base: Some(base),
            remote_url,
        })
    }

    async fn prepare_url(
        &self,
        session: &str,
        url: &str,
        branch: Option<&str>,
    ) -> Result<Prepared, WorkspaceError> {
        let url = RepoUrl::parse(url)?;
        if let Some(b) = branch {
            self.check_branch_name(b).await?;
        }
        let key = url.cache_key();
        let mirror = self.repos.join(format!("{key}.git"));
        let lock = self.repo_lock(&key);
        let _guard = lock.lock().await;
        self.ensure_mirror(&url, &mirror).await?;

        let t = self.limits.git_timeout;
        let branch = match branch {
            Some(b) => b.to_owned(),
            None => self.default_branch(&url, &mirror).await?,
        };
        let base = Git::new("rev-parse", t)
            .dir(&mirror)
            .args(["rev-parse", "--verify", "--quiet"])
            .arg(format!("refs/remotes/origin/{branch}^{{commit}}"))
            .line()
            .await
            .map_err(|_| WorkspaceError::BranchNotFound {
                url: url.display.clone(),
                branch: branch.clone(),
            })?;
        // Drop bookkeeping of worktrees whose directories vanished, or adding
        // a worktree at a reused path fails. Safe here: the cache is ours.
        Git::new("worktree prune", t)
            .dir(&mirror)
            .args(["worktree", "prune"])
            .run()
            .await?;
        let (path, session_branch) = self.add_worktree(session, &mirror, &base).await?;
        Ok(Prepared {
            path,
            kind: WorkspaceKind::Mirror {
                url: url.display.clone(),
                mirror,
            },
            branch: Some(session_branch),
            base: Some(base),
            remote_url: Some(url.display),
        })
    }

    /// Add `<workspaces>/<short>` on a new branch `agentd/<short>` at `base`.
    async fn add_worktree(
        &self,
        session: &str,
        repo: &Path,
        base: &str,
    ) -> Result<(PathBuf, String), WorkspaceError> {
        let short = session_short(session);
        let path = self.workspaces.join(&short);
        let branch = format!("{BRANCH_PREFIX}{short}");
        if tokio::fs::try_exists(&path).await.unwrap_or(true) {
            return Err(WorkspaceError::AlreadyExists(session.to_owned()));
        }
        tokio::fs::create_dir_all(&self.workspaces)
            .await
            .map_err(|e| WorkspaceError::io("creating the workspaces directory", &e))?;
        let out = Git::new("worktree add", self.limits.git_timeout)
            .dir(repo)
            // --no-track: the session branch must never push to the base branch.
            .args(["worktree", "add", "--quiet", "--no-track", "-b", &branch])
            .arg(&path)
            .arg(base)
            .output()
            .await?;
        if !out.success {
            if out.stderr.contains("already exists") {
                return Err(WorkspaceError::AlreadyExists(session.to_owned()));
            }
            return Err(WorkspaceError::Git {
                op: "worktree add",
                detail: stderr_detail(&out.stderr),
            });
        }
        tracing::info!(session, path = %path.display(), %branch, "workspace worktree added");
        Ok((path, branch))
    }

    async fn check_branch_name(&self, branch: &str) -> Result<(), WorkspaceError> {
        let invalid = || WorkspaceError::InvalidBranch(branch.to_owned());
        if branch.starts_with('-') || branch.len() > 255 {
            return Err(invalid());
        }
        // The full-ref form does no `@{-1}` expansion, unlike `--branch`.
        let ok = Git::new("check-ref-format", self.limits.git_timeout)
            .arg("check-ref-format")
            .arg(format!("refs/heads/{branch}"))
            .output()
            .await?
            .success;
        if ok { Ok(()) } else { Err(invalid()) }
    }
}
