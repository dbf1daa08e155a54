//! Git URLs: the cached mirror, reuse, fetch, branches and refused URLs.

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use agentd_workspace::{WorkspaceError, WorkspaceKind, WorkspaceLimits, WorkspaceManager};
use pretty_assertions::assert_eq;

use crate::common::{Env, S1, S2, git, git_spec, limits, read};

#[tokio::test]
async fn a_url_is_cloned_once_and_fetched_on_reuse() {
    let env = Env::new();
    let remote = env.remote("origin");
    let url = remote.to_str().unwrap();
    let main = git(&remote, &["rev-parse", "main"]);

    let first = env.manager.prepare(S1, &git_spec(url, None)).await.unwrap();
    let WorkspaceKind::Mirror { mirror, url: shown } = &first.kind else {
        panic!("expected a mirror, got {:?}", first.kind);
    };
    assert_eq!(shown, url);
    assert!(mirror.starts_with(env.manager.repos_dir()));
    assert_eq!(first.base.as_deref(), Some(main.as_str()));
    assert_eq!(first.branch.as_deref(), Some("agentd/a1b2c3d4e5f6"));
    assert_eq!(read(&first.path, "README.md").unwrap(), "hello\n");
    assert_eq!(read(&first.path, "feature.txt"), None);
    let inode = std::fs::metadata(mirror).unwrap().ino();

    // Upstream moves on; the second session fetches instead of cloning.
    let newer = env.push_commit(&remote, "main", "upstream.txt");
    let second = env.manager.prepare(S2, &git_spec(url, None)).await.unwrap();
    assert_eq!(second.kind, first.kind);
    assert_eq!(std::fs::metadata(mirror).unwrap().ino(), inode);
    let stats = env.manager.stats();
    assert_eq!((stats.clones, stats.fetches), (1, 1));
    assert_eq!(second.base.as_deref(), Some(newer.as_str()));
    assert_eq!(read(&second.path, "upstream.txt").unwrap(), "new\n");
    // The first session's worktree is where it was.
    assert_eq!(read(&first.path, "upstream.txt"), None);
}

#[tokio::test]
async fn file_urls_and_branch_selection() {
    let env = Env::new();
    let remote = env.remote("origin");
    let url = format!("file://{}", remote.display());
    let ws = env
        .manager
        .prepare(S1, &git_spec(&url, Some("feature")))
        .await
        .unwrap();
    assert_eq!(read(&ws.path, "feature.txt").unwrap(), "feature\n");
    assert_eq!(
        ws.base.as_deref(),
        Some(git(&remote, &["rev-parse", "feature"]).as_str())
    );
    // The session branch does not track the base branch.
    let upstream = std::process::Command::new("git")
        .arg("-C")
        .arg(&ws.path)
        .args(["rev-parse", "--abbrev-ref", "@{upstream}"])
        .output()
        .unwrap();
    assert!(!upstream.status.success());

    let err = env
        .manager
        .prepare(S2, &git_spec(&url, Some("nope")))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, WorkspaceError::BranchNotFound { branch, .. } if branch == "nope"),
        "{err:?}"
    );
    let err = env
        .manager
        .prepare(S2, &git_spec(&url, Some("--force")))
        .await
        .unwrap_err();
    assert!(matches!(err, WorkspaceError::InvalidBranch(_)), "{err:?}");
    let err = env
        .manager
        .prepare(S2, &git_spec(&url, Some("a..b")))
        .await
        .unwrap_err();
    assert!(matches!(err, WorkspaceError::InvalidBranch(_)), "{err:?}");
}

#[tokio::test]
async fn injection_and_unsupported_urls_are_refused_before_git_runs() {
    let env = Env::new();
    let marker = env.tmp.path().join("pwned");
    let m = marker.display();
    for url in [
        format!("--upload-pack=touch {m}"),
        format!("-u touch {m}"),
        format!("ext::sh -c touch% {m}"),
        "http://example.com/r.git".into(),
        "git://example.com/r.git".into(),
        "relative/repo".into(),
        "ssh://-oProxyCommand=touch/r".into(),
    ] {
        let err = env
            .manager
            .prepare(S1, &git_spec(&url, None))
            .await
            .unwrap_err();
        assert!(
            matches!(err, WorkspaceError::InvalidUrl { .. }),
            "{url}: {err:?}"
        );
        assert!(err.is_caller_error());
    }
    assert!(!marker.exists());
    assert!(!env.manager.repos_dir().exists());
}

#[tokio::test]
async fn an_unreachable_https_remote_fails_fast_with_a_clear_error() {
    let env = Env::new();
    let started = Instant::now();
    let err = env
        .manager
        .prepare(S1, &git_spec("https://user:secret@127.0.0.1:1/x.git", None))
        .await
        .unwrap_err();
    assert!(started.elapsed() < limits().clone_timeout);
    assert!(matches!(err, WorkspaceError::Unreachable { .. }), "{err:?}");
    assert!(err.is_retryable());
    let msg = err.to_string();
    assert!(msg.contains("127.0.0.1"), "{msg}");
    assert!(!msg.contains("secret"), "{msg}");
    // Nothing half-cloned is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(env.manager.repos_dir())
        .unwrap()
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn a_missing_local_remote_is_not_found() {
    let env = Env::new();
    let missing = env.tmp.path().join("nothing-here.git");
    let err = env
        .manager
        .prepare(S1, &git_spec(missing.to_str().unwrap(), None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, WorkspaceError::RepoNotFound { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_repository_over_the_size_limit_is_refused_and_removed() {
    let env = Env::new();
    let remote = env.remote("origin");
    let manager = WorkspaceManager::new(
        &env.tmp.path().join("small-data"),
        WorkspaceLimits {
            max_repo_bytes: 1,
            ..limits()
        },
    );
    let err = manager
        .prepare(S1, &git_spec(remote.to_str().unwrap(), None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, WorkspaceError::RepoTooLarge { limit: 1, .. }),
        "{err:?}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(manager.repos_dir()).unwrap().collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(!manager.workspaces_dir().join("a1b2c3d4e5f6").exists());
}

#[tokio::test]
async fn a_slow_transfer_is_killed_at_the_clone_timeout() {
    let env = Env::new();
    // A listener that accepts and never answers: the TLS handshake hangs.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let manager = WorkspaceManager::new(
        &env.tmp.path().join("slow-data"),
        WorkspaceLimits {
            clone_timeout: Duration::from_millis(700),
            ..limits()
        },
    );
    let started = Instant::now();
    let err = manager
        .prepare(
            S1,
            &git_spec(&format!("https://127.0.0.1:{port}/x.git"), None),
        )
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(err, WorkspaceError::CloneTimeout { .. }),
        "{err:?}"
    );
    drop(listener);
}
