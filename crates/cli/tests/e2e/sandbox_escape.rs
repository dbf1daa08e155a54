//! The sandbox escape suite, run the way an agent would try it: a real
//! `agentd serve` with the sandbox on (the default, bubblewrap), the
//! Anthropic fake scripting `bash` tool calls, and the assertions made on
//! what the model got back as tool results and on the host afterwards.
//! Every attempt must be refused or contained, and the server must keep
//! serving.

use std::path::Path;
use std::time::Duration;

use agentd_testkit::{FakeAnthropic, turn};
use serde_json::json;

use crate::common::{self, ADMIN_PASSWORD, Backend, Server};

/// The tool results' contents the model received, in order.
fn tool_results(fake: &FakeAnthropic) -> Vec<String> {
    common::tool_results(fake)
        .into_iter()
        .map(|(_, content)| content)
        .collect()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

struct Attempt {
    name: &'static str,
    command: String,
    timeout_ms: u64,
}

fn attempt(name: &'static str, command: String) -> Attempt {
    Attempt {
        name,
        command,
        timeout_ms: 20_000,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bash_tool_escapes_are_refused_or_contained_and_the_server_keeps_serving() {
    let fake = FakeAnthropic::start().await;
    // The server's HOME, with an SSH key the agent must not read.
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".ssh")).unwrap();
    std::fs::write(home.path().join(".ssh/id_ed25519"), "PRIVATE-SSH-KEY-XYZ").unwrap();
    let home_path = home.path().display().to_string();
    let mut server = Server::start_with(Backend::Sqlite, &fake, &[("HOME", &home_path)]).await;
    let data = server.data_dir.path().to_owned();
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    let pid = server.pid().unwrap();
    let tag = format!("agentd-escape-{}", std::process::id());
    let d = data.display();
    let h = home.path().display();

    let attempts = [
        attempt(
            "write outside",
            format!(
                "for p in {d}/{tag} {d}/workspaces/{tag} /etc/{tag} /usr/{tag} {h}/{tag} /root/{tag}; do \
                   (echo x > $p) 2>/dev/null && echo \"wrote $p\"; done; echo end-write"
            ),
        ),
        attempt(
            "read the data dir",
            format!(
                "head -c 16 {d}/agentd.db; cat {d}/master.key; ls {d}; \
                 ln -s {d} leak && cat leak/agentd.db leak/master.key; \
                 cat {h}/.ssh/id_ed25519; echo end-read"
            ),
        ),
        attempt("read the environment", "env; echo end-env".to_owned()),
        attempt(
            "reach the server",
            format!(
                "(exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && echo connected-local || echo refused-local; \
                 (exec 3<>/dev/tcp/1.1.1.1/53) 2>/dev/null && echo connected-remote || echo refused-remote"
            ),
        ),
        attempt(
            "plant git hooks and config",
            "common=$(git rev-parse --git-common-dir); \
             (echo evil > \"$common/hooks/pre-commit\") 2>/dev/null && echo wrote-hook; \
             git config core.hooksPath /tmp/evil 2>/dev/null && echo wrote-config; \
             (echo 'gitdir: /tmp/evil' > .git) 2>/dev/null && echo wrote-dotgit; \
             echo x > work.txt && git add work.txt && git -c user.name=a -c user.email=a@b commit -qm work && echo committed"
                .to_owned(),
        ),
        attempt(
            "signal or trace the server",
            format!(
                "kill -9 {pid} 2>&1; kill -9 -1 2>/dev/null; ls /proc/{pid} 2>&1 | head -1; \
                 cat /proc/{pid}/environ 2>&1 | head -c 80; echo; ls /proc | grep -c '^[0-9]'; echo end-signal"
            ),
        ),
        Attempt {
            name: "fork bomb",
            command: "bomb() { bomb | bomb; }; bomb".to_owned(),
            timeout_ms: 2_500,
        },
        attempt(
            "huge file",
            "truncate -s 2G sparse 2>&1; echo truncate=$?; \
             dd if=/dev/zero of=big bs=1M seek=1023 count=4 2>/dev/null; echo dd=$?; \
             stat -c %s big"
                .to_owned(),
        ),
        attempt("still works", "echo alive-after".to_owned()),
    ];
    for a in &attempts {
        fake.push(turn().tool_use(
            "bash",
            json!({"command": a.command, "timeout_ms": a.timeout_ms}),
        ));
    }
    fake.push(turn().text("done"));

    let repo = common::git_repo();
    let hooks_before = std::fs::read_dir(repo.path().join(".git/hooks"))
        .map(std::iter::Iterator::count)
        .unwrap_or(0);
    let config_before = read(&repo.path().join(".git/config"));
    let id = server.create_session(repo.path(), "try to escape").await;
    // Some twenty sandboxed commands, several of which run into their
    // limits (a fork bomb, a 2 s timeout): slow when the suite shares the CPU.
    let session = server
        .wait_status_within(&id, &["idle", "failed"], Duration::from_secs(90))
        .await;
    assert_eq!(session["status"], "idle", "{}", server.log());
    let workspace = server.workspace_of(&id).await;

    let results = tool_results(&fake);
    assert_eq!(results.len(), attempts.len(), "{results:#?}");
    let result = |name: &str| -> &str {
        let i = attempts.iter().position(|a| a.name == name).unwrap();
        &results[i]
    };

    // Writing outside the workspace: refused, and nothing on the host.
    let out = result("write outside");
    assert!(out.contains("end-write"), "{out}");
    // The server's HOME is a temp dir under /tmp here, and /tmp is the
    // sandbox's own tmpfs: a write there may succeed inside but never
    // reaches the host (checked below). Everything else is refused.
    for refused in [
        format!("wrote {d}/"),
        "wrote /etc".to_owned(),
        "wrote /usr".to_owned(),
        "wrote /root".to_owned(),
    ] {
        assert!(!out.contains(&refused), "{out}");
    }
    for dir in [
        data.clone(),
        data.join("workspaces"),
        "/etc".into(),
        "/usr".into(),
        home.path().to_owned(),
        "/root".into(),
    ] {
        assert!(!dir.join(&tag).exists(), "{} on the host", dir.display());
    }

    // The data dir, the database, the master key, ~/.ssh: unreadable, also
    // through a symlink made in the workspace.
    let out = result("read the data dir");
    assert!(out.contains("end-read"), "{out}");
    assert!(
        read(&data.join("agentd.db")).starts_with(b"SQLite format 3"),
        "control: the database is there on the host"
    );
    assert!(!out.contains("SQLite format"), "{out}");
    let key = read(&data.join("master.key"));
    assert!(!key.is_empty(), "control: the master key is on the host");
    assert!(!out.contains(String::from_utf8_lossy(&key).trim()), "{out}");
    assert!(!out.contains("PRIVATE-SSH-KEY-XYZ"), "{out}");
    assert!(
        !out.contains("server.log"),
        "the data dir was listed: {out}"
    );

    // The server's secrets are not in the tool's environment.
    let out = result("read the environment");
    assert!(out.contains("end-env") && out.contains("PATH="), "{out}");
    for secret in [
        "sk-ant-test-key-e2e",
        "ANTHROPIC_",
        "AGENTD_",
        ADMIN_PASSWORD,
    ] {
        assert!(!out.contains(secret), "{secret} visible: {out}");
    }

    // No network: not the server's port, not the outside.
    let out = result("reach the server");
    assert!(
        out.contains("refused-local") && out.contains("refused-remote"),
        "{out}"
    );
    assert!(!out.contains("connected"), "{out}");

    // .git: hooks, config and the worktree's .git file are protected; an
    // ordinary commit on the session's branch still works.
    let out = result("plant git hooks and config");
    assert!(out.contains("committed"), "{out}");
    for planted in ["wrote-hook", "wrote-config", "wrote-dotgit"] {
        assert!(!out.contains(planted), "{planted}: {out}");
    }
    let hooks_after = std::fs::read_dir(repo.path().join(".git/hooks"))
        .map(std::iter::Iterator::count)
        .unwrap_or(0);
    assert_eq!(hooks_after, hooks_before, "a hook was planted");
    assert!(!repo.path().join(".git/hooks/pre-commit").exists());
    assert_eq!(read(&repo.path().join(".git/config")), config_before);
    let dot_git = String::from_utf8(read(&workspace.join(".git"))).unwrap();
    assert!(!dot_git.contains("/tmp/evil"), "{dot_git}");

    // The server's process is out of reach: not visible, not killable.
    let out = result("signal or trace the server");
    assert!(out.contains("end-signal"), "{out}");
    assert!(!out.contains("sk-ant"), "{out}");
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the server was killed"
    );

    // Limits: a fork bomb is stopped by the timeout within the process cap;
    // a file past the size limit is refused.
    let out = result("fork bomb");
    let lower = out.to_lowercase();
    assert!(
        lower.contains("timed out") || lower.contains("fork") || lower.contains("resource"),
        "{out}"
    );
    assert_eq!(leftover_bombs(), 0, "the fork bomb outlived its sandbox");
    let out = result("huge file");
    assert!(
        out.contains("File too large") || out.contains("truncate=1"),
        "{out}"
    );
    assert!(!out.contains("dd=0"), "{out}");
    assert!(!workspace.join("sparse").exists() || read_len(&workspace.join("sparse")) < 1 << 31);
    assert!(
        read_len(&workspace.join("big")) <= 1 << 30,
        "past the 1 GiB limit"
    );

    // After all that, the server and the session keep working.
    assert!(result("still works").contains("alive-after"));
    let health = server
        .anon
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert!(health.status().is_success());
    fake.push(turn().text("second turn"));
    let (status, body) = server
        .post(
            &format!("/api/v1/sessions/{id}/messages"),
            json!({"text": "again"}),
        )
        .await;
    assert!(status < 300, "{status} {body}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let session = server.wait_status(&id, &["idle", "failed"]).await;
    assert_eq!(session["status"], "idle", "{}", server.log());
    server.kill9().await;
}

/// Host processes still running the fork bomb's script.
fn leftover_bombs() -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("bomb() { bomb | bomb; }"))
        })
        .count()
}

fn read_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
