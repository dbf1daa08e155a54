#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Creating a session is all or nothing: when it fails after its workspace
//! was made, the worktree and the branch go too, so a retry does not pile
//! up half-made sessions.

use std::path::Path;
use std::process::Command;

use agentd_protocol::Runtime;
use agentd_testkit::FakeAnthropic;

use crate::common;
use crate::common::TestEngine;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn a_creation_that_fails_after_its_worktree_was_made_leaves_no_worktree_or_branch() {
    let fake = FakeAnthropic::start().await;
    let engine = TestEngine::anthropic(&fake).start().await;
    let repo = tempfile::tempdir().unwrap();
    git(repo.path(), &["init", "--quiet", "--initial-branch=main"]);
    std::fs::write(repo.path().join("README.md"), "hello\n").unwrap();
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "--quiet", "-m", "first"]);

    // The database goes away between the worktree and the session row.
    engine.store.close().await;
    let req = common::request(repo.path(), "work", Runtime::Builtin, None);
    let err = engine.manager.create_session(req, None).await;
    assert!(err.is_err(), "creation must fail without a database");

    let branches = git(repo.path(), &["branch", "--list", "agentd/*"]);
    assert_eq!(branches.trim(), "", "no session branch is left");
    let worktrees = git(repo.path(), &["worktree", "list", "--porcelain"]);
    assert_eq!(
        worktrees.matches("worktree ").count(),
        1,
        "only the user's own checkout: {worktrees}"
    );
    let workspaces = engine.data.path().join("workspaces");
    let left = std::fs::read_dir(&workspaces).map_or(0, std::iter::Iterator::count);
    assert_eq!(left, 0, "nothing under {}", workspaces.display());
}
