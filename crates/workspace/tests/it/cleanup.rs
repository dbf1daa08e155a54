//! TTL cleanup: clean worktrees go, unsaved work is checkpointed first.

use std::time::Duration;

use agentd_workspace::{
    CleanupPolicy, KeptReason, Prepared, PushTarget, RemovedReason, UnsavedWork, WorkspaceRecord,
};
use pretty_assertions::assert_eq;
use time::OffsetDateTime;

use crate::common::{Env, S1, S2, git, git_spec, path_spec, read, write};

const S3: &str = "0190f3a2-7b1c-7d00-8e4f-0000000000c3";
const S4: &str = "0190f3a2-7b1c-7d00-8e4f-0000000000d4";

fn record(session: &str, ws: &Prepared, hours_ago: i64) -> WorkspaceRecord {
    WorkspaceRecord {
        session: session.into(),
        workspace: ws.clone(),
        last_used: OffsetDateTime::now_utc() - time::Duration::hours(hours_ago),
    }
}

fn policy(unsaved: UnsavedWork) -> CleanupPolicy {
    CleanupPolicy {
        ttl: Duration::from_secs(3600),
        unsaved,
    }
}

#[tokio::test]
async fn cleanup_removes_clean_old_worktrees_and_keeps_dirty_ones_checkpointed() {
    let env = Env::new();
    let remote = env.remote("origin");
    let url = remote.to_str().unwrap();
    let m = &env.manager;
    let clean = m.prepare(S1, &git_spec(url, None)).await.unwrap();
    let dirty = m.prepare(S2, &git_spec(url, None)).await.unwrap();
    let fresh = m.prepare(S3, &git_spec(url, None)).await.unwrap();
    let pushed = m.prepare(S4, &git_spec(url, None)).await.unwrap();
    let plain = m.prepare(S1, &path_spec(&env.dir("plain"))).await.unwrap();

    m.checkpoint(&clean, S1, 1).await.unwrap();
    write(
        &clean.path,
        "target/build.o",
        "ignored output does not count\n",
    );
    write(&dirty.path, "wip.txt", "unsaved\n");
    write(&pushed.path, "done.txt", "done\n");
    m.finish(&pushed, "done", PushTarget::Origin).await.unwrap();

    let records = [
        record(S1, &clean, 5),
        record(S2, &dirty, 5),
        record(S3, &fresh, 0),
        record(S4, &pushed, 5),
        record(S1, &plain, 5),
    ];
    let report = m
        .cleanup(&policy(UnsavedWork::CheckpointAndKeep), &records)
        .await
        .unwrap();

    let removed: Vec<(&str, &RemovedReason)> = report
        .removed
        .iter()
        .map(|r| (r.session.as_str(), &r.reason))
        .collect();
    assert_eq!(
        removed,
        vec![(S1, &RemovedReason::Clean), (S4, &RemovedReason::Clean)]
    );
    let kept: Vec<&str> = report.kept.iter().map(|k| k.session.as_str()).collect();
    assert_eq!(kept, vec![S2, S3, S1]);
    assert_eq!(report.kept[1].reason, KeptReason::Fresh);
    assert_eq!(report.kept[2].reason, KeptReason::NotManaged);
    let KeptReason::Unsaved { checkpoint } = &report.kept[0].reason else {
        panic!("{:?}", report.kept[0]);
    };

    assert!(!clean.path.exists() && !pushed.path.exists());
    assert_eq!(read(&dirty.path, "wip.txt").unwrap(), "unsaved\n");
    assert!(fresh.path.exists());
    assert!(plain.path.exists());
    // The dirty worktree's state is saved, and HEAD did not move.
    let saved = m.checkpoints(&dirty, S2).await.unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(&saved[0].commit, checkpoint);
    assert_eq!(
        git(&dirty.path, &["show", &format!("{checkpoint}:wip.txt")]),
        "unsaved"
    );
    // Clean removals take their branch and checkpoints with them; pushed work
    // is still on the remote.
    let mirror = &env.manager.repos_dir();
    let repo = std::fs::read_dir(mirror)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let branches = git(&repo, &["branch", "--list", "agentd/*"]);
    assert!(!branches.contains("a1b2c3d4e5f6"), "{branches}");
    assert!(!branches.contains("0000000000d4"), "{branches}");
    assert!(branches.contains("0000000000b2"), "{branches}");
    assert!(
        git(
            &repo,
            &["for-each-ref", &format!("refs/agentd/checkpoints/{S1}/")]
        )
        .is_empty()
    );
    assert!(git(&remote, &["branch", "--list"]).contains("agentd/0000000000d4"));

    // A second sweep does not pile up checkpoints of an unchanged state.
    let again = m
        .cleanup(&policy(UnsavedWork::CheckpointAndKeep), &records[1..2])
        .await
        .unwrap();
    assert_eq!(
        again.kept[0].reason,
        KeptReason::Unsaved {
            checkpoint: checkpoint.clone()
        }
    );
    assert_eq!(m.checkpoints(&dirty, S2).await.unwrap().len(), 1);
}

#[tokio::test]
async fn cleanup_can_remove_unsaved_work_after_checkpointing_it() {
    let env = Env::new();
    let repo = env.user_repo("user");
    let m = &env.manager;
    let ws = m.prepare(S1, &path_spec(&repo)).await.unwrap();
    // Unpushed commit plus an untracked file.
    write(&ws.path, "committed.txt", "c\n");
    git(&ws.path, &["add", "-A"]);
    git(&ws.path, &["commit", "-q", "-m", "unpushed"]);
    let tip = git(&ws.path, &["rev-parse", "HEAD"]);
    write(&ws.path, "untracked.txt", "u\n");
    m.checkpoint(&ws, S1, 4).await.unwrap();
    write(&ws.path, "later.txt", "after the last checkpoint\n");

    let report = m
        .cleanup(
            &policy(UnsavedWork::CheckpointAndRemove),
            &[record(S1, &ws, 2)],
        )
        .await
        .unwrap();
    let RemovedReason::Checkpointed { commit } = &report.removed[0].reason else {
        panic!("{report:?}");
    };
    assert!(!ws.path.exists());
    // Turn 5 holds the state after turn 4; the branch keeps its commit.
    assert_eq!(
        git(
            &repo,
            &["rev-parse", &format!("refs/agentd/checkpoints/{S1}/5")]
        ),
        *commit
    );
    assert_eq!(
        git(&repo, &["show", &format!("{commit}:later.txt")]),
        "after the last checkpoint"
    );
    assert_eq!(git(&repo, &["rev-parse", "agentd/a1b2c3d4e5f6"]), tip);
    // The user's checkout is still clean.
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");

    // A record whose directory is already gone is reported as missing.
    let report = m
        .cleanup(
            &policy(UnsavedWork::CheckpointAndKeep),
            &[record(S1, &ws, 2)],
        )
        .await
        .unwrap();
    assert_eq!(report.removed[0].reason, RemovedReason::Missing);
}
