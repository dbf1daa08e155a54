//! The bash tool against real processes.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentd_tools::{
    Bash, DirectLauncher, OutputChunk, OutputStream, ProcessLauncher, Tool, ToolContext,
    ToolOutcome,
};
use common::{assert_error, fixture, process_is_dead};
use serde_json::json;
use tokio::sync::mpsc;

/// Runs `command` in a spawned task with an output sink attached.
fn spawn_streaming(
    command: &str,
) -> (
    tokio::task::JoinHandle<ToolOutcome>,
    mpsc::UnboundedReceiver<OutputChunk>,
    tokio_util::sync::CancellationToken,
    common::Fixture,
) {
    let mut fx = fixture();
    let (tx, rx) = mpsc::unbounded_channel();
    let ctx = ToolContext {
        workspace: fx.ctx.workspace.clone(),
        cancel: fx.ctx.cancel.clone(),
        output: Some(tx),
        limits: fx.ctx.limits.clone(),
        launcher: fx.ctx.launcher.clone(),
    };
    fx.ctx.output = None;
    let cancel = ctx.cancel.clone();
    let input = json!({ "command": command });
    let task = tokio::spawn(async move { Bash.call(input, &ctx).await });
    (task, rx, cancel, fx)
}

/// Reads streamed stdout until `n` whole lines have arrived.
async fn read_lines(rx: &mut mpsc::UnboundedReceiver<OutputChunk>, n: usize) -> Vec<String> {
    let mut text = String::new();
    while text.lines().count() < n || !text.ends_with('\n') {
        let chunk = tokio::time::timeout(Duration::from_secs(2), rx.recv())
            .await
            .unwrap()
            .unwrap();
        text.push_str(&chunk.text);
    }
    text.lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn runs_in_the_workspace_and_streams_output_as_it_arrives() {
    let (task, mut rx, _cancel, fx) = spawn_streaming("pwd; echo oops >&2; sleep 0.3; echo done");
    let first = tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .unwrap()
        .unwrap();
    // Streamed while the command is still sleeping, not after it finished.
    assert!(!task.is_finished());
    assert_eq!(
        first,
        OutputChunk {
            stream: OutputStream::Stdout,
            text: format!("{}\n", fx.root().display())
        }
    );

    let outcome = task.await.unwrap();
    let mut streamed = vec![first];
    while let Ok(chunk) = rx.try_recv() {
        streamed.push(chunk);
    }
    assert!(streamed.contains(&OutputChunk {
        stream: OutputStream::Stderr,
        text: "oops\n".into()
    }));
    assert!(streamed.contains(&OutputChunk {
        stream: OutputStream::Stdout,
        text: "done\n".into()
    }));
    assert!(!outcome.is_error, "{outcome:?}");
    assert!(outcome.content.contains("oops\n"));
    assert!(
        outcome.content.ends_with("done\nexit code: 0"),
        "{}",
        outcome.content
    );
}

#[tokio::test]
async fn non_zero_exit_is_an_error_with_the_code() {
    let fx = fixture();
    let outcome = fx
        .call("bash", json!({"command": "echo failing; exit 3"}))
        .await;
    assert!(outcome.is_error);
    assert_eq!(outcome.content, "failing\nexit code: 3");

    let outcome = fx.call("bash", json!({"command": "true"})).await;
    assert_eq!(outcome, ToolOutcome::ok("exit code: 0"));
}

#[tokio::test]
async fn timeout_kills_the_command() {
    let fx = fixture();
    let started = Instant::now();
    let outcome = fx
        .call(
            "bash",
            json!({"command": "echo started; sleep 30", "timeout_ms": 300}),
        )
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_error(
        &outcome,
        "started\ncommand timed out after 300ms and was killed",
    );
}

async fn assert_cancel_kills_group(command: &str) {
    let (task, mut rx, cancel, _fx) = spawn_streaming(command);
    let pids: Vec<u32> = read_lines(&mut rx, 3)
        .await
        .iter()
        .map(|l| l.parse().unwrap())
        .collect();
    assert!(pids.iter().all(|&pid| !process_is_dead(pid)));

    let cancelled_at = Instant::now();
    cancel.cancel();
    let outcome = task.await.unwrap();
    assert!(
        cancelled_at.elapsed() < Duration::from_secs(1),
        "took {:?}",
        cancelled_at.elapsed()
    );
    assert_error(&outcome, "command cancelled; its processes were killed");
    for pid in pids {
        assert!(process_is_dead(pid), "process {pid} survived the cancel");
    }
}

#[tokio::test]
async fn cancel_kills_the_whole_process_group_within_a_second() {
    assert_cancel_kills_group("echo $$; sleep 30 & echo $!; sleep 30 & echo $!; wait").await;
}

#[tokio::test]
async fn cancel_escalates_to_sigkill_when_sigterm_is_ignored() {
    // Ignored signals stay ignored across exec, so the sleeps ignore SIGTERM too.
    assert_cancel_kills_group(
        "trap '' TERM; echo $$; sleep 30 & echo $!; sleep 30 & echo $!; wait",
    )
    .await;
}

#[tokio::test]
async fn background_processes_do_not_outlive_the_command() {
    let fx = fixture();
    let started = Instant::now();
    let outcome = fx
        .call("bash", json!({"command": "sleep 30 & echo $!"}))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    let pid: u32 = outcome.content.lines().next().unwrap().parse().unwrap();
    assert!(
        outcome
            .content
            .contains("background processes still writing output were stopped")
    );
    assert!(
        outcome.content.ends_with("exit code: 0"),
        "{}",
        outcome.content
    );
    assert!(process_is_dead(pid));
}

#[tokio::test]
async fn output_cap_keeps_head_and_tail_of_multibyte_text() {
    let mut fx = fixture();
    fx.ctx.limits.max_output_chars = 1_000;
    let command = "echo START; for i in $(seq 1 3000); do printf 'é😀'; done; echo; echo END";
    let outcome = fx.call("bash", json!({ "command": command })).await;
    assert!(!outcome.is_error, "{outcome:?}");
    assert!(
        outcome.content.starts_with("START\né😀é😀"),
        "{}",
        outcome.content
    );
    assert!(outcome.content.contains("characters omitted …]"));
    assert!(
        outcome.content.ends_with("é😀\nEND\nexit code: 0"),
        "{}",
        outcome.content
    );
    assert!(outcome.content.chars().count() < 1_100);
}

#[tokio::test]
async fn bad_input_is_a_clear_error() {
    let fx = fixture();
    assert_error(
        &fx.call("bash", json!({})).await,
        "invalid input for bash: missing field `command`",
    );
    assert_error(
        &fx.call("bash", json!({"command": "  "})).await,
        "command is empty",
    );
    assert_error(
        &fx.call("bash", json!({"command": "true", "timeout_ms": 0}))
            .await,
        "timeout_ms",
    );
}

/// Records what the tool asked for, then launches it directly.
#[derive(Default)]
struct RecordingLauncher {
    calls: Mutex<Vec<(String, Vec<String>)>>,
}

impl ProcessLauncher for RecordingLauncher {
    fn command(&self, program: &str, args: &[String], cwd: &Path) -> tokio::process::Command {
        self.calls
            .lock()
            .unwrap()
            .push((program.to_owned(), args.to_vec()));
        DirectLauncher.command(program, args, cwd)
    }
}

#[tokio::test]
async fn the_command_goes_through_the_launcher_as_one_argument() {
    let mut fx = fixture();
    let launcher = Arc::new(RecordingLauncher::default());
    fx.ctx.launcher = launcher.clone();
    let command = "echo \"$HOME\" '$(id)'; echo ';'";
    let outcome = fx.call("bash", json!({ "command": command })).await;
    assert!(!outcome.is_error, "{outcome:?}");
    let calls = launcher.calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        [("bash".to_owned(), vec!["-c".to_owned(), command.to_owned()])]
    );
}

const CHILD_MARKER: &str = "AGENTD_TOOLS_ENV_TEST_CHILD";

/// Re-runs this test binary with secrets in its environment; the child test
/// below asserts the bash tool's `env` does not show them. A child process
/// keeps the env mutation out of this (multi-threaded) test process.
#[test]
fn server_secrets_are_not_inherited_by_commands() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_reports_a_scrubbed_environment",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_MARKER, "1")
        .env("ANTHROPIC_API_KEY", "sk-ant-secret")
        .env("OPENAI_API_KEY", "sk-secret")
        .env("GH_TOKEN", "ghp_secret")
        .env("AGENTD_DATABASE_URL", "postgres://secret")
        .env("KEEP_ME", "visible")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "child test did not run:\n{stdout}"
    );
}

#[tokio::test]
async fn child_reports_a_scrubbed_environment() {
    if std::env::var_os(CHILD_MARKER).is_none() {
        return; // Only meaningful when launched by the test above.
    }
    let fx = fixture();
    let outcome = fx.call("bash", json!({"command": "env"})).await;
    assert!(!outcome.is_error, "{outcome:?}");
    assert!(
        outcome.content.contains("KEEP_ME=visible"),
        "{}",
        outcome.content
    );
    // The values, not the word: test runners put test names (which may
    // say "secret") into the environment.
    for secret in [
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "GH_TOKEN",
        "AGENTD_",
        "sk-ant-secret",
        "sk-secret",
        "ghp_secret",
        "postgres://secret",
    ] {
        assert!(
            !outcome.content.contains(secret),
            "{secret} leaked:\n{}",
            outcome.content
        );
    }
}
