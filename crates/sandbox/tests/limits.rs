#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Resource limits and process lifetime, through the real bash tool. The test
//! process itself must come out unharmed, which each test checks at the end.

mod common;

use std::time::{Duration, Instant};

use common::{Sandbox, host_processes_matching, host_processes_running, nested_process_count};

/// The host still starts processes: what a fork bomb that escaped would break.
fn host_can_still_spawn() {
    for _ in 0..20 {
        let status = std::process::Command::new("true").status().unwrap();
        assert!(status.success());
    }
}

/// Waits (briefly) for every host process whose command line has `needle` to go.
async fn gone_within(needle: &str, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if host_processes_matching(needle).is_empty() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn a_fork_bomb_is_capped_and_the_host_is_fine_afterwards() {
    // The cap is written from inside the sandbox's own pid namespace; the
    // host's value must never change (it would cap every host process).
    let host_pid_max = std::fs::read_to_string("/proc/sys/kernel/pid_max").unwrap();
    let mut sb = Sandbox::new();
    sb.policy.limits.max_processes = 64;
    // The main shell stays for 2 s while the bomb runs in the background.
    let bomb = tokio::spawn(async move {
        let outcome = sb.bash(":(){ :|:& };: ; sleep 2", 6_000).await;
        drop(sb);
        outcome
    });
    // Sample the sandbox from outside while the bomb saturates it: processes
    // two pid namespaces below ours (the cap's namespace and bwrap's).
    let mut peak = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1500) {
        peak = peak.max(nested_process_count(2));
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let outcome = bomb.await.unwrap();
    // pid_max = 64 + 300, so at most 363 pids; a bash fork bomb without a cap
    // reaches thousands in this time.
    assert!(
        peak > 50,
        "the bomb never got going (peak {peak}): {}",
        outcome.content
    );
    assert!(peak <= 364, "the cap did not hold: peak {peak}");
    let start = Instant::now();
    while nested_process_count(2) > 0 && start.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        nested_process_count(2),
        0,
        "bomb processes outlived the tool call"
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/pid_max").unwrap(),
        host_pid_max,
        "the host's pid_max changed"
    );
    host_can_still_spawn();
}

#[tokio::test]
async fn writing_a_huge_file_stops_at_the_file_size_limit() {
    let mut sb = Sandbox::new();
    sb.policy.limits.max_file_size_bytes = 1024 * 1024;
    let outcome = sb
        .bash("head -c 50000000 /dev/zero > big; echo status=$?", 10_000)
        .await;
    let size = std::fs::metadata(sb.ws().join("big")).unwrap().len();
    assert_eq!(size, 1024 * 1024, "{}", outcome.content);
    // SIGXFSZ (25) killed `head`: 128 + 25.
    assert!(
        outcome.content.contains("status=153"),
        "{}",
        outcome.content
    );
}

#[tokio::test]
async fn a_cpu_hog_is_stopped_by_the_cpu_limit() {
    let mut sb = Sandbox::new();
    sb.policy.limits.cpu_seconds = 1;
    let start = Instant::now();
    let outcome = sb.bash("while :; do :; done", 8_000).await;
    assert!(outcome.is_error, "{}", outcome.content);
    assert!(
        outcome.content.contains("terminated by signal")
            || outcome.content.contains("exit code: 1"),
        "{}",
        outcome.content
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "ran {:?}: {}",
        start.elapsed(),
        outcome.content
    );
}

#[tokio::test]
async fn background_processes_die_with_the_command_even_in_a_new_session() {
    let sb = Sandbox::new();
    let pid = std::process::id();
    // setsid leaves the tool's process group, so killpg cannot reach it; the
    // pid namespace going away with the command does.
    let script = format!(
        "sleep 97{pid}.1 >/dev/null 2>&1 & setsid nohup sleep 97{pid}.2 >/dev/null 2>&1 & echo started"
    );
    let start = Instant::now();
    let out = sb.ok(&script).await;
    assert!(out.contains("started"), "{out}");
    // The tool did not wait for them either.
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(gone_within(&format!("sleep 97{pid}."), Duration::from_secs(2)).await);
    host_can_still_spawn();
}

#[tokio::test]
async fn killing_the_launched_process_takes_the_sandbox_down() {
    use agentd_tools::ProcessLauncher;
    let sb = Sandbox::new();
    let needle = format!("sleep 98{}.5", std::process::id());
    let args = ["-c".to_owned(), format!("{needle}; true")];
    let mut child = sb
        .launcher()
        .command("bash", &args, &sb.ws())
        .spawn()
        .unwrap();
    let start = Instant::now();
    // Wait for the sandboxed program itself: killing the wrapper while it is
    // still starting races unshare's PR_SET_PDEATHSIG (see the crate docs).
    while host_processes_running(&needle).is_empty() && start.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !host_processes_running(&needle).is_empty(),
        "the sandboxed sleep never started"
    );
    // SIGKILL to the outermost process only, as kill_on_drop would.
    child.kill().await.unwrap();
    assert!(gone_within(&needle, Duration::from_secs(2)).await);
}

#[tokio::test]
async fn a_timed_out_command_is_killed_with_everything_it_started() {
    let sb = Sandbox::new();
    let needle = format!("sleep 99{}.5", std::process::id());
    let start = Instant::now();
    let outcome = sb.bash(&format!("setsid {needle} & {needle}"), 500).await;
    assert!(outcome.content.contains("timed out"), "{}", outcome.content);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
    assert!(gone_within(&needle, Duration::from_secs(2)).await);
}

#[tokio::test]
async fn the_sandbox_dies_with_the_process_that_started_it() {
    // The server crashing (kill -9) must not leave tools running: a parent
    // starts a sandboxed `sleep` and is killed; nothing of it may remain.
    let sb = Sandbox::new();
    let agentd_sandbox::SandboxMode::Bubblewrap { bwrap, process_cap } = common::mode() else {
        panic!("bubblewrap is needed for this test");
    };
    let marker = format!("42{}", std::process::id());
    let argv = agentd_sandbox::launch_argv(
        &bwrap,
        process_cap,
        &sb.policy,
        &sb.policy.workspace,
        "sleep",
        std::slice::from_ref(&marker),
    );
    let mut parent = std::process::Command::new("bash")
        .arg("-c")
        .arg(r#""$@" & wait"#)
        .arg("bash")
        .args(&argv)
        .spawn()
        .unwrap();
    let running = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| c.split(|b| *b == 0).any(|a| a == marker.as_bytes()))
            })
            .count()
    };
    // Wait for the whole chain (unshare, bwrap twice, the command): only
    // then is every parent-death signal armed; a kill in the first instant
    // after a fork can orphan the sandbox (see the crate docs), a race a
    // loaded machine stretches.
    let start = Instant::now();
    let mut seen = running();
    while seen < 4 && start.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        seen = seen.max(running());
    }
    if seen < 4 {
        let _ = parent.kill();
        panic!("the sandboxed sleep never started");
    }
    parent.kill().unwrap();
    parent.wait().unwrap();
    let start = Instant::now();
    while running() > 0 && start.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(running(), 0, "the sandbox outlived its parent");
}
