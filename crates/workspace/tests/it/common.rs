//! Real repositories in temp dirs: a user's checkout, a bare "remote", and helpers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use agentd_protocol::WorkspaceSpec;
use agentd_protocol::session::GitSource;
use agentd_workspace::{WorkspaceLimits, WorkspaceManager};
use tempfile::TempDir;

pub fn limits() -> WorkspaceLimits {
    WorkspaceLimits {
        clone_timeout: Duration::from_secs(20),
        max_repo_bytes: 100 * 1024 * 1024,
        git_timeout: Duration::from_secs(20),
    }
}

/// Run git synchronously in `dir`, panicking with its stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=test", "-c", "user.email=test@localhost"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgSign=false",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

pub fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

pub fn read(dir: &Path, rel: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(rel)).ok()
}

/// Everything a test needs: a data dir for the manager and scratch space.
pub struct Env {
    pub tmp: TempDir,
    pub manager: WorkspaceManager,
}

impl Env {
    pub fn new() -> Self {
        let tmp = TempDir::new().unwrap();
        let manager = WorkspaceManager::new(&tmp.path().join("data"), limits());
        Self { tmp, manager }
    }

    pub fn dir(&self, name: &str) -> PathBuf {
        let p = self.tmp.path().join(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    /// A non-bare repository with one commit (`README.md`, `src/lib.rs`) and
    /// a `.gitignore` ignoring `target/`.
    pub fn user_repo(&self, name: &str) -> PathBuf {
        let repo = self.dir(name);
        git(&repo, &["init", "-q"]);
        write(&repo, "README.md", "hello\n");
        write(&repo, "src/lib.rs", "pub fn a() {}\n");
        write(&repo, ".gitignore", "target/\n");
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "init"]);
        repo
    }

    /// A bare repository (the "remote") with `main` and a `feature` branch.
    pub fn remote(&self, name: &str) -> PathBuf {
        let seed = self.user_repo(&format!("{name}-seed"));
        git(&seed, &["checkout", "-q", "-b", "feature"]);
        write(&seed, "feature.txt", "feature\n");
        git(&seed, &["add", "-A"]);
        git(&seed, &["commit", "-q", "-m", "feature"]);
        git(&seed, &["checkout", "-q", "main"]);
        let bare = self.tmp.path().join(format!("{name}.git"));
        git(
            self.tmp.path(),
            &[
                "clone",
                "-q",
                "--bare",
                seed.to_str().unwrap(),
                bare.to_str().unwrap(),
            ],
        );
        bare
    }

    /// Push a new commit adding `file` to `branch` of the bare `remote`.
    pub fn push_commit(&self, remote: &Path, branch: &str, file: &str) -> String {
        let work = self.tmp.path().join(format!("pusher-{file}"));
        git(
            self.tmp.path(),
            &[
                "clone",
                "-q",
                "-b",
                branch,
                remote.to_str().unwrap(),
                work.to_str().unwrap(),
            ],
        );
        write(&work, file, "new\n");
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", "upstream change"]);
        git(&work, &["push", "-q", "origin", branch]);
        git(&work, &["rev-parse", "HEAD"])
    }
}

pub fn path_spec(p: &Path) -> WorkspaceSpec {
    WorkspaceSpec::Path {
        path: p.to_str().unwrap().to_owned(),
    }
}

pub fn git_spec(url: &str, branch: Option<&str>) -> WorkspaceSpec {
    WorkspaceSpec::Git {
        git: GitSource {
            url: url.to_owned(),
            branch: branch.map(str::to_owned),
        },
    }
}

pub const S1: &str = "0190f3a2-7b1c-7d00-8e4f-a1b2c3d4e5f6";
pub const S2: &str = "0190f3a2-7b1c-7d00-8e4f-0000000000b2";
