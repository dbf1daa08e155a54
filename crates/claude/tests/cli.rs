//! The real Claude Code CLI (installed by scripts/test) against the
//! testkit's fake Anthropic API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use agentd_claude::{ClaudeError, ClaudeEvent, ClaudeProcess};
use agentd_protocol::{ErrorCode, EventData, PermissionMode, TurnStopReason};
use agentd_testkit::{Failure, turn};
use common::{Harness, Recorder, last_user_content, run_turn, shape, text_of, within};
use pretty_assertions::assert_eq;
use serde_json::json;

#[tokio::test]
async fn the_cli_writes_a_file_runs_bash_and_answers() {
    let h = Harness::new().await;
    let file = h.ws_path("hello.txt");
    h.fake.push(turn().text("I'll create it.").tool_use(
        "Write",
        json!({"file_path": file, "content": "hi from agentd\n"}),
    ));
    h.fake.push(turn().tool_use(
        "Bash",
        json!({"command": "cat hello.txt && echo ran-bash", "description": "show it"}),
    ));
    h.fake.push(turn().text("Done: the file says hi."));
    let handler = Recorder::allowing();
    let mut claude = h
        .spawn(h.options(PermissionMode::Default), handler.clone())
        .await;
    claude.send_user("create hello.txt").await.unwrap();
    let (events, result) = run_turn(&mut claude).await;

    assert_eq!(std::fs::read_to_string(&file).unwrap(), "hi from agentd\n");
    assert_eq!(
        shape(&events),
        [
            "message.started",
            "message.completed",
            "tool.started Write",
            "tool.completed Write ok=true",
            "file.changed hello.txt",
            "message.started",
            "message.completed",
            "tool.started Bash",
            "tool.completed Bash ok=true",
            "message.started",
            "message.completed",
        ]
    );
    assert_eq!(text_of(&events), "I'll create it.Done: the file says hi.");
    let bash_output = events.iter().find_map(|e| match e {
        EventData::ToolCompleted(t) if t.tool == "Bash" => Some(t.output.clone()),
        _ => None,
    });
    assert_eq!(bash_output.as_deref(), Some("hi from agentd\nran-bash"));
    // Default mode asks before writing; the handler's allow carried the input.
    assert_eq!(handler.asked()[0].tool_name, "Write");
    assert_eq!(handler.asked()[0].input["content"], "hi from agentd\n");
    assert_eq!(result.stop, TurnStopReason::EndTurn);
    assert_eq!((result.is_error, &result.error), (false, &None));
    assert_eq!(result.text, "Done: the file says hi.");
    assert!(result.usage.input_tokens > 0 && result.usage.output_tokens > 0);
    assert!(result.usage.cost_usd > 0.0);
    assert_eq!(Some(result.session_id), claude.claude_session_id());
    assert_eq!(h.fake.message_requests().len(), 3);
    claude.shutdown().await;
}

#[tokio::test]
async fn two_turns_share_one_process_and_one_conversation() {
    let h = Harness::new().await;
    h.fake.push(turn().text("first answer"));
    h.fake.push(turn().text("second answer"));
    let mut claude = h
        .spawn(h.options(PermissionMode::Default), Recorder::allowing())
        .await;
    claude.send_user("first question").await.unwrap();
    let (_, one) = run_turn(&mut claude).await;
    claude.send_user("second question").await.unwrap();
    let (events, two) = run_turn(&mut claude).await;

    assert_eq!(text_of(&events), "second answer");
    assert_eq!(one.session_id, two.session_id);
    let requests = h.fake.message_requests();
    assert_eq!(requests.len(), 2);
    let history = requests[1]["messages"].to_string();
    for said in ["first question", "first answer", "second question"] {
        assert!(history.contains(said), "{said} missing from {history}");
    }
    claude.shutdown().await;
}

#[tokio::test]
async fn a_new_process_resumes_the_claude_session() {
    let h = Harness::new().await;
    h.fake.push(turn().text("remembered: 42"));
    h.fake.push(turn().text("it was 42"));
    let mut claude = h
        .spawn(h.options(PermissionMode::Default), Recorder::allowing())
        .await;
    claude.send_user("remember 42").await.unwrap();
    let (_, first) = run_turn(&mut claude).await;
    let id = claude
        .claude_session_id()
        .expect("a session id after a turn");
    claude.shutdown().await;

    let opts = agentd_claude::SpawnOptions {
        resume: Some(id.clone()),
        ..h.options(PermissionMode::Default)
    };
    let mut resumed = h.spawn(opts, Recorder::allowing()).await;
    resumed.send_user("what was it?").await.unwrap();
    let (_, second) = run_turn(&mut resumed).await;

    assert_eq!(
        (first.session_id.as_str(), second.session_id.as_str()),
        (id.as_str(), id.as_str())
    );
    let history = h.fake.message_requests()[1]["messages"].to_string();
    for said in ["remember 42", "remembered: 42", "what was it?"] {
        assert!(history.contains(said), "{said} missing from {history}");
    }
    resumed.shutdown().await;
}

#[tokio::test]
async fn interrupt_cancels_a_long_command_and_its_processes() {
    let h = Harness::new().await;
    // `sleep 30` itself is refused by the CLI's Bash tool; this waits as long.
    h.fake.push(turn().tool_use(
        "Bash",
        json!({"command": "timeout 30 tail -f /dev/null; echo finished", "description": "wait"}),
    ));
    h.fake.set_default(turn().text("unexpected"));
    let mut claude = h
        .spawn(
            h.options(PermissionMode::BypassPermissions),
            Recorder::allowing(),
        )
        .await;
    claude.send_user("wait a while").await.unwrap();
    within(10, async {
        while let Some(event) = claude.next().await {
            if matches!(event, ClaudeEvent::Event(EventData::ToolStarted(_))) {
                return;
            }
        }
        panic!("no tool started");
    })
    .await;
    // bash, timeout and tail, each group of its own under the CLI.
    let tools = common::wait_for_descendants(&claude, 3).await;
    let started = Instant::now();
    claude.interrupt(Duration::from_secs(2)).await.unwrap();
    let (events, result) = run_turn(&mut claude).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(result.stop, TurnStopReason::Cancelled);
    assert_eq!((result.is_error, result.error), (false, None));
    assert!(matches!(
        events.last(),
        Some(EventData::ToolCompleted(t)) if !t.ok && t.tool == "Bash"
    ));
    // The CLI stops its tool itself; nothing of the command is left.
    common::wait_until_gone(&tools).await;
    claude.shutdown().await;
}

#[tokio::test]
async fn dropping_the_process_kills_what_it_started() {
    let h = Harness::new().await;
    h.fake.push(turn().tool_use(
        "Bash",
        json!({"command": "timeout 30 tail -f /dev/null; echo finished", "description": "wait"}),
    ));
    let claude = h
        .spawn(
            h.options(PermissionMode::BypassPermissions),
            Recorder::allowing(),
        )
        .await;
    claude.send_user("wait a while").await.unwrap();
    let tools = common::wait_for_descendants(&claude, 3).await;
    let pid = claude.pid();
    drop(claude);
    let mut gone = tools.clone();
    gone.push(pid);
    common::wait_until_gone(&gone).await;
}

#[tokio::test]
async fn a_denied_call_reaches_the_model_as_the_tool_result() {
    let h = Harness::new().await;
    let target = h.ws_path("denied.txt");
    h.fake.push(turn().tool_use(
        "Bash",
        json!({"command": format!("touch {}", target.display()), "description": "touch"}),
    ));
    h.fake.push(turn().text("understood"));
    let handler = Recorder::denying("Bash", "agentd test: touching is not allowed");
    let mut claude = h
        .spawn(h.options(PermissionMode::Default), handler.clone())
        .await;
    claude.send_user("touch it").await.unwrap();
    let (events, result) = run_turn(&mut claude).await;

    let asked = handler.asked();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].tool_name, "Bash");
    assert_eq!(asked[0].tool_use_id.as_deref(), Some("toolu_01"));
    assert!(
        asked[0].input["command"]
            .as_str()
            .unwrap()
            .starts_with("touch ")
    );
    assert!(!target.exists());
    assert!(shape(&events).contains(&"tool.completed Bash ok=false".to_owned()));
    let sent = last_user_content(&h.fake.message_requests()[1]);
    assert!(
        sent.contains("agentd test: touching is not allowed"),
        "{sent}"
    );
    assert!(sent.contains("\"is_error\":true"), "{sent}");
    assert_eq!(result.stop, TurnStopReason::EndTurn);
    claude.shutdown().await;
}

#[tokio::test]
async fn a_missing_cli_names_the_fix() {
    let err = discover_error("/nonexistent/bin/claude").await;
    assert!(matches!(err, ClaudeError::NotFound { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("npm i -g @anthropic-ai/claude-code"),
        "{message}"
    );
    assert!(message.contains("claude_path"), "{message}");
    assert_eq!(err.code(), ErrorCode::Unavailable);
}

async fn discover_error(path: &str) -> ClaudeError {
    agentd_claude::ClaudeCli::discover(Some(std::path::Path::new(path)))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn an_old_cli_says_which_version_is_needed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let fake_cli = dir.path().join("claude");
    std::fs::write(&fake_cli, "#!/bin/sh\necho '1.0.3 (Claude Code)'\n").unwrap();
    std::fs::set_permissions(&fake_cli, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = discover_error(fake_cli.to_str().unwrap()).await;
    let message = err.to_string();
    assert!(matches!(err, ClaudeError::TooOld { .. }), "{err:?}");
    assert!(
        message.contains("1.0.3") && message.contains(agentd_claude::MIN_VERSION),
        "{message}"
    );
}

#[tokio::test]
async fn a_cli_that_refuses_to_start_reports_its_stderr() {
    let h = Harness::new().await;
    let opts = agentd_claude::SpawnOptions {
        extra_args: vec!["--no-such-flag-agentd".into()],
        ..h.options(PermissionMode::Default)
    };
    let result = within(15, ClaudeProcess::spawn(&h.cli, opts, Recorder::allowing())).await;
    match result {
        Err(ClaudeError::Exited { code, stderr_tail }) => {
            assert_ne!(code, Some(0));
            assert!(stderr_tail.contains("no-such-flag-agentd"), "{stderr_tail}");
        }
        other => panic!("expected Exited, got {other:?}"),
    }
}

#[tokio::test]
async fn a_cli_killed_mid_turn_reports_exited() {
    let h = Harness::new().await;
    h.fake.push(
        turn()
            .text("slow answer")
            .delay_per_event(Duration::from_millis(500)),
    );
    let mut claude = h
        .spawn(h.options(PermissionMode::Default), Recorder::allowing())
        .await;
    claude.send_user("hello").await.unwrap();
    h.fake.wait_for_requests(1, Duration::from_secs(10)).await;
    let status = std::process::Command::new("kill")
        .args(["-9", &claude.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let last = within(10, async {
        let mut last = None;
        while let Some(event) = claude.next().await {
            last = Some(event);
        }
        last
    })
    .await;
    assert!(
        matches!(last, Some(ClaudeEvent::Exited { code: None, .. })),
        "{last:?}"
    );
    assert!(claude.send_user("anyone?").await.is_err());
}

#[tokio::test]
async fn a_rejected_api_key_ends_the_turn_with_model_authentication() {
    let h = Harness::new().await;
    h.fake.set_default(Failure::unauthorized());
    let mut claude = h
        .spawn(h.options(PermissionMode::Default), Recorder::allowing())
        .await;
    claude.send_user("hello").await.unwrap();
    let (events, result) = run_turn(&mut claude).await;
    assert!(result.is_error);
    assert_eq!(result.stop, TurnStopReason::Error);
    assert_eq!(
        result.error.map(|e| e.0),
        Some(ErrorCode::ModelAuthentication)
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, EventData::MessageStarted(_))),
        "the CLI's synthetic error message is not a model message: {events:?}"
    );
    claude.shutdown().await;
}

#[tokio::test]
async fn lines_over_a_megabyte_pass_through() {
    let h = Harness::new().await;
    let file = h.ws_path("big.txt");
    let content = "0123456789abcdef\n".repeat(90_000); // 1.5 MB
    h.fake
        .push(turn().tool_use("Write", json!({"file_path": file, "content": content})));
    h.fake.push(turn().text("written"));
    let mut claude = h
        .spawn(h.options(PermissionMode::AcceptEdits), Recorder::allowing())
        .await;
    claude.send_user("write a big file").await.unwrap();
    let (events, result) = run_turn(&mut claude).await;
    assert_eq!(std::fs::read_to_string(&file).unwrap().len(), content.len());
    let input_len = events.iter().find_map(|e| match e {
        EventData::ToolStarted(t) => t.input["content"].as_str().map(str::len),
        _ => None,
    });
    assert_eq!(input_len, Some(content.len()));
    assert_eq!(result.stop, TurnStopReason::EndTurn);
    claude.shutdown().await;
}

#[tokio::test]
async fn shutdown_leaves_no_background_command_behind() {
    let h = Harness::new().await;
    h.fake.push(turn().tool_use(
        "Bash",
        json!({"command": "timeout 30 tail -f /dev/null", "description": "serve",
            "run_in_background": true}),
    ));
    h.fake.push(turn().text("started it"));
    let mut claude = h
        .spawn(
            h.options(PermissionMode::BypassPermissions),
            Recorder::allowing(),
        )
        .await;
    claude.send_user("start a server").await.unwrap();
    let (_, result) = run_turn(&mut claude).await;
    assert_eq!(result.stop, TurnStopReason::EndTurn);
    let background = common::wait_for_descendants(&claude, 2).await;
    let pid = claude.pid();
    within(10, claude.shutdown()).await;
    let mut gone = background;
    gone.push(pid);
    common::wait_until_gone(&gone).await;
}
