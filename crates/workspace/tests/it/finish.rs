//! Finishing: commit, push to a local bare remote, and the no-change case.

use agentd_workspace::{FileStat, PushTarget, WorkspaceError};
use pretty_assertions::assert_eq;

use crate::common::{Env, S1, S2, git, git_spec, path_spec, write};

#[tokio::test]
async fn finish_commits_everything_and_pushes_the_branch() {
    let env = Env::new();
    let remote = env.remote("origin");
    let m = &env.manager;
    let ws = m
        .prepare(S1, &git_spec(remote.to_str().unwrap(), None))
        .await
        .unwrap();
    let p = &ws.path;
    write(p, "README.md", "hello\nworld\n");
    write(p, "new/file.txt", "a\nb\nc\n");
    std::fs::remove_file(p.join("src/lib.rs")).unwrap();
    write(p, "target/ignored.o", "x\n");

    let done = m
        .finish(&ws, "#42: say hello to the world", PushTarget::Origin)
        .await
        .unwrap();

    assert_eq!(done.branch, "agentd/a1b2c3d4e5f6");
    assert!(done.pushed);
    assert!(!done.no_changes);
    let commit = done.commit.clone().unwrap();
    assert_eq!(
        done.files_changed,
        vec![
            FileStat {
                path: "README.md".into(),
                added: 1,
                removed: 0
            },
            FileStat {
                path: "new/file.txt".into(),
                added: 3,
                removed: 0
            },
            FileStat {
                path: "src/lib.rs".into(),
                added: 0,
                removed: 1
            },
        ]
    );
    // The remote has the branch at our commit, with our message and identity.
    assert_eq!(
        git(&remote, &["rev-parse", "refs/heads/agentd/a1b2c3d4e5f6"]),
        commit
    );
    assert_eq!(
        git(&remote, &["log", "-1", "--format=%s|%an|%ae", &commit]),
        "#42: say hello to the world|agentd|agentd@localhost"
    );
    assert_eq!(
        git(&remote, &["rev-parse", "main"]),
        ws.base.clone().unwrap()
    );
    // Ignored files were not committed.
    assert!(!git(p, &["ls-tree", "-r", "--name-only", &commit]).contains("target/"));
}

#[tokio::test]
async fn finish_without_changes_commits_and_pushes_nothing() {
    let env = Env::new();
    let remote = env.remote("origin");
    let m = &env.manager;
    let ws = m
        .prepare(S1, &git_spec(remote.to_str().unwrap(), None))
        .await
        .unwrap();
    write(&ws.path, "target/only-ignored.o", "x\n");
    let done = m.finish(&ws, "nothing", PushTarget::Origin).await.unwrap();
    assert!(done.no_changes);
    assert_eq!((done.commit, done.pushed), (None, false));
    assert!(done.files_changed.is_empty());
    assert!(!git(&remote, &["branch", "--list"]).contains("agentd/"));
}

#[tokio::test]
async fn finish_counts_commits_the_agent_made_itself() {
    let env = Env::new();
    let repo = env.user_repo("user");
    let m = &env.manager;
    let ws = m.prepare(S1, &path_spec(&repo)).await.unwrap();
    write(&ws.path, "x.txt", "x\n");
    git(&ws.path, &["add", "-A"]);
    git(&ws.path, &["commit", "-q", "-m", "agent commit"]);
    let done = m.finish(&ws, "unused", PushTarget::None).await.unwrap();
    assert!(!done.no_changes);
    assert_eq!(done.commit.unwrap(), git(&ws.path, &["rev-parse", "HEAD"]));
    assert_eq!(git(&ws.path, &["log", "-1", "--format=%s"]), "agent commit");

    // Push was asked for, and the user's repository has no origin.
    write(&ws.path, "y.txt", "y\n");
    let err = m.finish(&ws, "more", PushTarget::Origin).await.unwrap_err();
    assert!(matches!(err, WorkspaceError::NoOrigin), "{err:?}");
}

#[tokio::test]
async fn finish_refuses_plain_directories_and_empty_messages() {
    let env = Env::new();
    let m = &env.manager;
    let plain = m.prepare(S1, &path_spec(&env.dir("plain"))).await.unwrap();
    let err = m.finish(&plain, "msg", PushTarget::None).await.unwrap_err();
    assert!(matches!(err, WorkspaceError::NotGit), "{err:?}");
    let repo = env.user_repo("user");
    let ws = m.prepare(S2, &path_spec(&repo)).await.unwrap();
    let err = m.finish(&ws, "  \n", PushTarget::None).await.unwrap_err();
    assert!(matches!(err, WorkspaceError::EmptyMessage), "{err:?}");
}
