//! Local paths: plain directories and worktrees of the user's repository.

use agentd_workspace::{WorkspaceError, WorkspaceKind};
use pretty_assertions::assert_eq;

use crate::common::{Env, S1, S2, git, path_spec, read, write};

#[tokio::test]
async fn a_plain_directory_is_used_directly() {
    let env = Env::new();
    let dir = env.dir("plain");
    let ws = env.manager.prepare(S1, &path_spec(&dir)).await.unwrap();
    assert_eq!(ws.path, dir.canonicalize().unwrap());
    assert_eq!(ws.kind, WorkspaceKind::Plain);
    assert_eq!((ws.branch, ws.base, ws.remote_url), (None, None, None));
    // Plain directories have nothing to checkpoint into.
    let plain = env.manager.prepare(S2, &path_spec(&dir)).await.unwrap();
    assert_eq!(env.manager.checkpoint(&plain, S2, 1).await.unwrap(), None);
}

#[tokio::test]
async fn a_local_repo_gets_a_worktree_and_the_users_checkout_is_untouched() {
    let env = Env::new();
    let repo = env.user_repo("user");
    git(
        &repo,
        &[
            "remote",
            "add",
            "origin",
            "https://bob:pw@example.com/r.git",
        ],
    );
    // The user has work in progress: a staged edit and an untracked file.
    write(&repo, "README.md", "user edit\n");
    git(&repo, &["add", "README.md"]);
    write(&repo, "notes.txt", "mine\n");
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let status = git(&repo, &["status", "--porcelain"]);
    let index = std::fs::read(repo.join(".git/index")).unwrap();

    let ws = env.manager.prepare(S1, &path_spec(&repo)).await.unwrap();
    assert_eq!(ws.path, env.manager.workspaces_dir().join("a1b2c3d4e5f6"));
    assert_eq!(ws.branch.as_deref(), Some("agentd/a1b2c3d4e5f6"));
    assert_eq!(ws.base.as_deref(), Some(head.as_str()));
    assert_eq!(
        ws.remote_url.as_deref(),
        Some("https://***@example.com/r.git")
    );
    assert_eq!(
        ws.kind,
        WorkspaceKind::LocalRepo {
            repo: repo.canonicalize().unwrap()
        }
    );
    // The worktree starts from the committed state, on the session branch.
    assert_eq!(read(&ws.path, "README.md").unwrap(), "hello\n");
    assert_eq!(read(&ws.path, "notes.txt"), None);
    assert_eq!(
        git(&ws.path, &["branch", "--show-current"]),
        "agentd/a1b2c3d4e5f6"
    );

    // The agent writes, even commits; the user's checkout does not move.
    write(&ws.path, "agent.txt", "agent\n");
    write(&ws.path, "src/lib.rs", "pub fn b() {}\n");
    git(&ws.path, &["add", "-A"]);
    git(&ws.path, &["commit", "-q", "-m", "agent work"]);
    write(&ws.path, "more.txt", "uncommitted\n");

    assert_eq!(git(&repo, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(&repo, &["branch", "--show-current"]), "main");
    assert_eq!(git(&repo, &["status", "--porcelain"]), status);
    assert_eq!(std::fs::read(repo.join(".git/index")).unwrap(), index);
    assert_eq!(read(&repo, "README.md").unwrap(), "user edit\n");
    assert_eq!(read(&repo, "agent.txt"), None);
    assert_eq!(read(&repo, "src/lib.rs").unwrap(), "pub fn a() {}\n");
}

#[tokio::test]
async fn a_subdirectory_of_a_repo_maps_to_the_same_subdirectory() {
    let env = Env::new();
    let repo = env.user_repo("user");
    let ws = env
        .manager
        .prepare(S1, &path_spec(&repo.join("src")))
        .await
        .unwrap();
    assert_eq!(
        ws.path,
        env.manager.workspaces_dir().join("a1b2c3d4e5f6/src")
    );
    assert_eq!(read(&ws.path, "lib.rs").unwrap(), "pub fn a() {}\n");
}

#[tokio::test]
async fn bad_paths_sessions_and_repeats_are_refused() {
    let env = Env::new();
    let repo = env.user_repo("user");
    let m = &env.manager;
    for bad in ["relative/dir", "/definitely/not/here"] {
        let spec = agentd_protocol::WorkspaceSpec::Path { path: bad.into() };
        let err = m.prepare(S1, &spec).await.unwrap_err();
        assert!(matches!(err, WorkspaceError::InvalidPath { .. }), "{err:?}");
    }
    let err = m.prepare("../evil", &path_spec(&repo)).await.unwrap_err();
    assert!(matches!(err, WorkspaceError::InvalidSession(_)), "{err:?}");

    m.prepare(S1, &path_spec(&repo)).await.unwrap();
    let err = m.prepare(S1, &path_spec(&repo)).await.unwrap_err();
    assert!(matches!(err, WorkspaceError::AlreadyExists(_)), "{err:?}");
    assert!(err.is_caller_error());

    let empty = env.dir("empty-repo");
    git(&empty, &["init", "-q"]);
    let err = m.prepare(S2, &path_spec(&empty)).await.unwrap_err();
    assert!(matches!(err, WorkspaceError::EmptyRepository(_)), "{err:?}");
}

#[tokio::test]
async fn prepared_round_trips_through_json() {
    let env = Env::new();
    let repo = env.user_repo("user");
    let ws = env.manager.prepare(S1, &path_spec(&repo)).await.unwrap();
    let json = serde_json::to_value(&ws).unwrap();
    assert_eq!(json["kind"]["type"], "local_repo");
    let back: agentd_workspace::Prepared = serde_json::from_value(json).unwrap();
    assert_eq!(back, ws);
}
