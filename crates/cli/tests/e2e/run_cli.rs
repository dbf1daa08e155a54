//! `agentd run` in a terminal against the testkit model.

use std::process::Stdio;

use agentd_testkit::{Failure, FakeAnthropic, Reply, turn};
use serde_json::{Value, json};

async fn agentd_run(
    fake: &FakeAnthropic,
    workspace: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    let data = tempfile::tempdir().unwrap();
    tokio::process::Command::new(env!("CARGO_BIN_EXE_agentd"))
        .arg("run")
        .arg("--workspace")
        .arg(workspace)
        .arg("--data-dir")
        .arg(data.path())
        .args(["--permission-mode", "bypassPermissions"])
        .args(extra)
        .env("ANTHROPIC_BASE_URL", fake.base_url())
        .env("ANTHROPIC_API_KEY", "sk-ant-test-run")
        .env_remove("AGENTD_DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_writes_the_file_and_exits_zero() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().text("Creating it.").tool_use(
        "write_file",
        json!({"path": "out/hi.txt", "content": "hi\n"}),
    ));
    fake.push(turn().text("Created out/hi.txt."));
    let dir = tempfile::tempdir().unwrap();
    let out = agentd_run(&fake, dir.path(), &["make", "hi.txt"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/hi.txt")).unwrap(),
        "hi\n"
    );
    assert!(stdout.contains("Creating it."));
    assert!(stdout.contains("write_file(out/hi.txt)"));
    assert!(stdout.contains("Created out/hi.txt."));
    let first = &fake.message_requests()[0];
    assert_eq!(first["messages"][0]["content"][0]["text"], "make hi.txt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_json_prints_envelopes() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().text("hello"));
    let dir = tempfile::tempdir().unwrap();
    let out = agentd_run(&fake, dir.path(), &["--json", "say hello"]).await;
    assert!(out.status.success());
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let seqs: Vec<u64> = lines.iter().map(|l| l["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=lines.len() as u64).collect::<Vec<_>>());
    assert_eq!(lines.last().unwrap()["type"], "session.status");
    assert_eq!(lines.last().unwrap()["data"]["status"], "idle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_fails_clearly_on_a_model_error() {
    let fake = FakeAnthropic::start().await;
    fake.push(Reply::failure(Failure::unauthorized()));
    let dir = tempfile::tempdir().unwrap();
    let out = agentd_run(&fake, dir.path(), &["hi"]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("model_authentication"), "{stderr}");
    assert!(!stderr.contains("sk-ant-test-run"));

    let missing = agentd_run(&fake, &dir.path().join("nope"), &["hi"]).await;
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_on_the_claude_code_runtime() {
    let fake = FakeAnthropic::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().canonicalize().unwrap().join("cc.txt");
    fake.push(turn().tool_use(
        "Write",
        json!({"file_path": file, "content": "from the CLI\n"}),
    ));
    fake.push(turn().text("Wrote cc.txt."));
    let home = tempfile::tempdir().unwrap();
    let claude = std::env::var("AGENTD_TEST_CLAUDE").unwrap_or_else(|_| {
        format!(
            "{}/.cache/agentd-npm/node_modules/.bin/claude",
            std::env::var("HOME").unwrap()
        )
    });
    let data = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_agentd"))
        .args([
            "run",
            "--runtime",
            "claude-code",
            "--permission-mode",
            "bypassPermissions",
            "--claude-path",
            &claude,
            "--workspace",
        ])
        .arg(dir.path())
        .arg("--data-dir")
        .arg(data.path())
        .arg("write cc.txt")
        .env("ANTHROPIC_BASE_URL", fake.base_url())
        .env("ANTHROPIC_API_KEY", "sk-ant-test-run")
        .env("HOME", home.path())
        .env("CLAUDE_CODE_MAX_RETRIES", "0")
        .env_remove("AGENTD_DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let written = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\nstdout: {stdout}\nstderr: {stderr}",
            file.display()
        )
    });
    assert_eq!(written, "from the CLI\n");
    assert!(stdout.contains("Wrote cc.txt."), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_terminal_approvals_are_declined_and_the_run_fails() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().tool_use("write_file", json!({"path": "x.txt", "content": "x"})));
    fake.push(turn().text("I could not write it."));
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_agentd"))
        .args(["run", "--permission-mode", "default", "--workspace"])
        .arg(dir.path())
        .arg("--data-dir")
        .arg(data.path())
        .arg("write x.txt")
        .env("ANTHROPIC_BASE_URL", fake.base_url())
        .env("ANTHROPIC_API_KEY", "sk-ant-test-run")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no terminal to ask"), "{stderr}");
    assert!(stderr.contains("1 tool call(s) were denied"), "{stderr}");
    assert!(!dir.path().join("x.txt").exists());
    let last = fake.message_requests().pop().unwrap().to_string();
    assert!(
        last.contains("nobody is at the terminal to approve it"),
        "{last}"
    );
}
