//! Checkpoints per turn and rollback.

use agentd_workspace::WorkspaceError;
use pretty_assertions::assert_eq;

use crate::common::{Env, S1, S2, git, path_spec, read, write};

#[tokio::test]
async fn checkpoints_save_everything_without_touching_head_or_index() {
    let env = Env::new();
    let repo = env.user_repo("user");
    let m = &env.manager;
    let ws = m.prepare(S1, &path_spec(&repo)).await.unwrap();
    let p = &ws.path;

    // Turn 1: an edit, a staged new file, an untracked file, an ignored file.
    write(p, "README.md", "turn one\n");
    write(p, "staged.txt", "staged\n");
    git(p, &["add", "staged.txt"]);
    write(p, "dir/untracked.txt", "untracked\n");
    write(p, "target/build.o", "ignored\n");
    let head = git(p, &["rev-parse", "HEAD"]);
    let status = git(p, &["status", "--porcelain"]);
    let index = std::fs::read(git_dir(p).join("index")).unwrap();

    let c1 = m.checkpoint(&ws, S1, 1).await.unwrap().unwrap();

    assert_eq!(git(p, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(p, &["branch", "--show-current"]), "agentd/a1b2c3d4e5f6");
    assert_eq!(git(p, &["status", "--porcelain"]), status);
    assert_eq!(std::fs::read(git_dir(p).join("index")).unwrap(), index);
    let files = git(p, &["ls-tree", "-r", "--name-only", &c1]);
    assert_eq!(
        files.lines().collect::<Vec<_>>(),
        vec![
            ".gitignore",
            "README.md",
            "dir/untracked.txt",
            "src/lib.rs",
            "staged.txt"
        ]
    );
    assert_eq!(git(p, &["show", &format!("{c1}:README.md")]), "turn one");
    // The first checkpoint's parent is the branch head.
    assert_eq!(git(p, &["rev-parse", &format!("{c1}^")]), head);

    // Turn 2 builds on turn 1.
    std::fs::remove_file(p.join("src/lib.rs")).unwrap();
    write(p, "second.txt", "2\n");
    let c2 = m.checkpoint(&ws, S1, 2).await.unwrap().unwrap();
    assert_eq!(git(p, &["rev-parse", &format!("{c2}^")]), c1);

    let list = m.checkpoints(&ws, S1).await.unwrap();
    let turns: Vec<(u32, &str)> = list.iter().map(|c| (c.turn, c.commit.as_str())).collect();
    assert_eq!(turns, vec![(1, c1.as_str()), (2, c2.as_str())]);
    // Another session's namespace is separate.
    assert!(m.checkpoints(&ws, S2).await.unwrap().is_empty());
}

#[tokio::test]
async fn rollback_restores_the_tree_exactly_and_leaves_ignored_files() {
    let env = Env::new();
    let repo = env.user_repo("user");
    let m = &env.manager;
    let ws = m.prepare(S1, &path_spec(&repo)).await.unwrap();
    let p = &ws.path;

    write(p, "README.md", "turn one\n");
    write(p, "keep/untracked.txt", "one\n");
    m.checkpoint(&ws, S1, 1).await.unwrap();
    let head = git(p, &["rev-parse", "HEAD"]);

    // Turn 2 makes a mess: edits, deletions, new files and dirs, build output.
    write(p, "README.md", "turn two\n");
    std::fs::remove_file(p.join("src/lib.rs")).unwrap();
    std::fs::remove_file(p.join("keep/untracked.txt")).unwrap();
    write(p, "new/deep/file.txt", "new\n");
    write(p, "added.txt", "added\n");
    git(p, &["add", "added.txt"]);
    write(p, "target/out.bin", "build\n");
    m.checkpoint(&ws, S1, 2).await.unwrap();
    let index = std::fs::read(git_dir(p).join("index")).unwrap();

    m.rollback(&ws, S1, 1).await.unwrap();

    assert_eq!(read(p, "README.md").unwrap(), "turn one\n");
    assert_eq!(read(p, "src/lib.rs").unwrap(), "pub fn a() {}\n");
    assert_eq!(read(p, "keep/untracked.txt").unwrap(), "one\n");
    assert_eq!(read(p, "added.txt"), None);
    assert!(!p.join("new").exists(), "empty directories are removed too");
    assert_eq!(read(p, "target/out.bin").unwrap(), "build\n");
    assert_eq!(git(p, &["rev-parse", "HEAD"]), head);
    // Rollback restores files only: the agent's own staging is left as it was.
    assert_eq!(std::fs::read(git_dir(p).join("index")).unwrap(), index);
    let leftovers: Vec<_> = std::fs::read_dir(git_dir(p))
        .unwrap()
        .filter_map(std::result::Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("agentd-index-"))
        .collect();
    assert!(leftovers.is_empty(), "scratch indexes are deleted");
    // A fresh checkpoint of the rolled-back state equals turn 1's tree.
    let again = m.checkpoint(&ws, S1, 3).await.unwrap().unwrap();
    let tree = |c: &str| git(p, &["rev-parse", &format!("{c}^{{tree}}")]);
    let list = m.checkpoints(&ws, S1).await.unwrap();
    assert_eq!(tree(&again), tree(&list[0].commit));

    // And forward again to turn 2.
    m.rollback(&ws, S1, 2).await.unwrap();
    assert_eq!(read(p, "new/deep/file.txt").unwrap(), "new\n");
    assert_eq!(read(p, "src/lib.rs"), None);

    let err = m.rollback(&ws, S1, 9).await.unwrap_err();
    assert!(
        matches!(err, WorkspaceError::CheckpointNotFound { turn: 9, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn plain_directories_cannot_roll_back() {
    let env = Env::new();
    let dir = env.dir("plain");
    let ws = env.manager.prepare(S1, &path_spec(&dir)).await.unwrap();
    assert!(env.manager.checkpoints(&ws, S1).await.unwrap().is_empty());
    let err = env.manager.rollback(&ws, S1, 1).await.unwrap_err();
    assert!(matches!(err, WorkspaceError::NotGit), "{err:?}");
}

fn git_dir(worktree: &std::path::Path) -> std::path::PathBuf {
    std::path::PathBuf::from(git(worktree, &["rev-parse", "--absolute-git-dir"]))
}
