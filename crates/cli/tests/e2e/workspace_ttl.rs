//! Workspace TTL cleanup, scheduled by `serve`: a finished session's
//! worktree past its TTL is removed, a running session's is not, and a
//! worktree with work no checkpoint holds is checkpointed and kept.

use std::time::Duration;

use agentd_testkit::{FakeAnthropic, turn};

use crate::common::{self, Backend, Server, git};

async fn wait_until(what: &str, server: &Server, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not happen in time\nlog:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_worktrees_of_finished_sessions_are_removed_and_unsaved_work_kept() {
    let fake = FakeAnthropic::start().await;
    // The first session's model answers slowly: it runs past the TTL.
    fake.push(
        turn()
            .text("slowly done")
            .delay_per_event(Duration::from_millis(1200)),
    );
    fake.set_default(turn().text("done"));
    let server = Server::start_with(
        Backend::Sqlite,
        &fake,
        &[
            ("AGENTD_WORKSPACE_TTL_SECS", "2"),
            ("AGENTD_WORKSPACE_CLEANUP_INTERVAL_SECS", "1"),
        ],
    )
    .await;
    let repo = common::git_repo();

    let running = server.create_session(repo.path(), "take your time").await;
    fake.wait_for_requests(1, Duration::from_secs(10)).await;
    let running_dir = server.workspace_of(&running).await;

    let dirty = server.create_session(repo.path(), "look around").await;
    server.wait_status(&dirty, &["idle"]).await;
    let dirty_dir = server.workspace_of(&dirty).await;
    // Work the agent's turn left no checkpoint of (say, a crash after it).
    std::fs::write(dirty_dir.join("UNSAVED.md"), "precious\n").unwrap();

    let clean = server.create_session(repo.path(), "look again").await;
    server.wait_status(&clean, &["idle"]).await;
    let clean_dir = server.workspace_of(&clean).await;
    assert!(clean_dir.exists());

    // Finished, clean and past its TTL: removed, branch and all (the
    // sweep deletes the branch just after the worktree).
    let clean_short: String = clean_dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let branches = || git(repo.path(), &["branch", "--list", "agentd/*"]);
    wait_until(
        "removal of the clean worktree and its branch",
        &server,
        || !clean_dir.exists() && !branches().contains(&clean_short),
    )
    .await;
    let branches = branches();
    assert!(!branches.contains(&clean_short), "{branches}");
    // Its session says why it takes no more work (the sweep records the
    // removal right after it).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, answer) = server
        .post(
            &format!("/api/v1/sessions/{clean}/messages"),
            serde_json::json!({"text": "more"}),
        )
        .await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "conflict");

    // Still running although past the TTL: kept.
    let (_, session) = server.get(&format!("/api/v1/sessions/{running}")).await;
    assert_eq!(session["status"], "running", "{session}");
    assert!(running_dir.exists());

    // Unsaved work: a checkpoint now holds it, and the worktree stays.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let checkpoint = loop {
        let (_, list) = server
            .get(&format!("/api/v1/sessions/{dirty}/checkpoints"))
            .await;
        // The turn's own checkpoint (if any) predates the file.
        let newest = list["checkpoints"].as_array().unwrap().last().cloned();
        if let Some(commit) = newest.and_then(|c| c["commit"].as_str().map(str::to_owned))
            && std::process::Command::new("git")
                .args(["cat-file", "-e", &format!("{commit}:UNSAVED.md")])
                .current_dir(repo.path())
                .status()
                .unwrap()
                .success()
        {
            break commit;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no checkpoint: {list}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        git(repo.path(), &["show", &format!("{checkpoint}:UNSAVED.md")]),
        "precious\n"
    );
    assert!(dirty_dir.join("UNSAVED.md").exists());

    // Once the slow session has finished, its worktree expires too.
    server.wait_status(&running, &["idle"]).await;
    wait_until("removal of the finished worktree", &server, || {
        !running_dir.exists()
    })
    .await;
    // Several sweeps later the unsaved work is still there.
    assert_eq!(
        std::fs::read_to_string(dirty_dir.join("UNSAVED.md")).unwrap(),
        "precious\n"
    );
}
