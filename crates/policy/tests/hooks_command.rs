#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use agentd_policy::{
    Decision, HookCommon, HookDecision, HookEvent, HookEventName, HookHandler, HookInput,
    HookOptions, HookOutcome, HookPermission, HookRunner, HookStatus, HooksConfig, MatcherGroup,
    combine,
};
use agentd_protocol::PermissionMode;
use agentd_tools::DirectLauncher;
use pretty_assertions::assert_eq;
use serde_json::json;

fn command(text: &str) -> HookHandler {
    HookHandler::Command {
        command: text.to_owned(),
        timeout: None,
    }
}

fn runner(
    dir: &Path,
    event: HookEventName,
    groups: Vec<(Option<&str>, Vec<HookHandler>)>,
) -> HookRunner {
    let mut config = HooksConfig::default();
    config.groups.insert(
        event,
        groups
            .into_iter()
            .map(|(matcher, hooks)| MatcherGroup::new(matcher, hooks).unwrap())
            .collect(),
    );
    let mut options = HookOptions::new(dir);
    options.default_timeout = Duration::from_secs(10);
    HookRunner::new(config, options).unwrap()
}

fn common(dir: &Path) -> HookCommon {
    HookCommon {
        session_id: "sess_1".into(),
        transcript_path: String::new(),
        cwd: dir.display().to_string(),
        permission_mode: PermissionMode::Default,
    }
}

fn pre_tool_use(dir: &Path, tool: &str, command: &str) -> HookEvent {
    HookEvent {
        common: common(dir),
        input: HookInput::PreToolUse {
            tool_name: tool.into(),
            tool_input: json!({ "command": command }),
            tool_use_id: "toolu_1".into(),
        },
    }
}

async fn run_pre(hooks: Vec<HookHandler>) -> HookOutcome {
    let dir = tempfile::tempdir().unwrap();
    let runner = runner(
        dir.path(),
        HookEventName::PreToolUse,
        vec![(Some("Bash"), hooks)],
    );
    runner
        .run(
            &pre_tool_use(dir.path(), "bash", "ls"),
            &DirectLauncher,
            &[],
        )
        .await
}

#[tokio::test]
async fn hooks_get_the_event_on_stdin_and_the_project_dir() {
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("seen.json");
    let hook = format!(
        "cat > '{}'; echo \"$CLAUDE_PROJECT_DIR $EXTRA\" > '{}.env'",
        seen.display(),
        seen.display()
    );
    let runner = runner(
        dir.path(),
        HookEventName::PreToolUse,
        vec![(Some("Bash"), vec![command(&hook)])],
    );
    let env = [("EXTRA".to_owned(), "yes".to_owned())];
    let outcome = runner
        .run(
            &pre_tool_use(dir.path(), "Bash", "ls -la"),
            &DirectLauncher,
            &env,
        )
        .await;
    assert_eq!(outcome.errors, Vec::<String>::new());
    let input: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&seen).unwrap()).unwrap();
    assert_eq!(
        input,
        json!({
            "session_id": "sess_1",
            "transcript_path": "",
            "cwd": dir.path().display().to_string(),
            "permission_mode": "default",
            "hook_event_name": "PreToolUse",
            "tool_name": "Bash",
            "tool_input": {"command": "ls -la"},
            "tool_use_id": "toolu_1"
        })
    );
    let env_line = std::fs::read_to_string(dir.path().join("seen.json.env")).unwrap();
    assert_eq!(env_line.trim(), format!("{} yes", dir.path().display()));
    let record = &outcome.records[0];
    assert_eq!(record.status, HookStatus::Exited { code: 0 });
    assert_eq!(record.matcher.as_deref(), Some("Bash"));
}

#[tokio::test]
async fn exit_2_blocks_with_stderr_as_the_reason() {
    let outcome = run_pre(vec![command(
        "echo '{\"ignored\":1}'; echo 'no rm here' >&2; exit 2",
    )])
    .await;
    assert_eq!(outcome.blocked.as_deref(), Some("no rm here"));
    assert!(outcome.records[0].blocked);
    assert_eq!(
        combine(PermissionMode::Default, Decision::Allow, &outcome),
        Decision::Deny {
            reason: "no rm here".into()
        }
    );
}

#[tokio::test]
async fn json_permission_decisions_are_read_and_combined() {
    let say = |decision: &str| {
        command(&format!(
            r#"echo '{{"hookSpecificOutput":{{"hookEventName":"PreToolUse","permissionDecision":"{decision}","permissionDecisionReason":"because {decision}"}}}}'"#
        ))
    };
    let outcome = run_pre(vec![say("allow")]).await;
    assert_eq!(
        outcome.permission.as_ref().map(|p| p.decision),
        Some(HookDecision::Allow)
    );
    assert_eq!(
        combine(PermissionMode::Default, Decision::Allow, &outcome),
        Decision::Allow
    );

    let outcome = run_pre(vec![say("ask")]).await;
    assert_eq!(
        combine(PermissionMode::Default, Decision::Allow, &outcome),
        Decision::Ask {
            reason: "because ask".into()
        }
    );
    assert!(matches!(
        combine(PermissionMode::Unattended, Decision::Allow, &outcome),
        Decision::Deny { .. }
    ));

    // Run in parallel, the strongest answer wins: deny > defer > ask > allow.
    let outcome = run_pre(vec![say("allow"), say("ask"), say("deny"), say("defer")]).await;
    assert_eq!(
        outcome.permission,
        Some(HookPermission {
            decision: HookDecision::Deny,
            reason: Some("because deny".into()),
        })
    );
    assert_eq!(outcome.records.len(), 4);
    assert_eq!(
        combine(PermissionMode::Default, Decision::Allow, &outcome),
        Decision::Deny {
            reason: "because deny".into()
        }
    );
}

#[tokio::test]
async fn a_hook_allow_never_beats_a_rules_deny_or_ask() {
    let outcome = run_pre(vec![command(
        r#"echo '{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"allow"}}'"#,
    )])
    .await;
    let deny = Decision::Deny {
        reason: "denied by the rule `Bash(rm:*)`".into(),
    };
    assert_eq!(
        combine(PermissionMode::Default, deny.clone(), &outcome),
        deny
    );
    let ask = Decision::Ask {
        reason: "the rule `Bash` requires approval".into(),
    };
    assert_eq!(combine(PermissionMode::Default, ask.clone(), &outcome), ask);
}

#[tokio::test]
async fn plain_stdout_is_context_for_prompts_and_ignored_for_tools() {
    let dir = tempfile::tempdir().unwrap();
    let runner = runner(
        dir.path(),
        HookEventName::UserPromptSubmit,
        vec![(None, vec![command("echo 'on branch main'")])],
    );
    let event = HookEvent {
        common: common(dir.path()),
        input: HookInput::UserPromptSubmit {
            prompt: "hi".into(),
        },
    };
    let outcome = runner.run(&event, &DirectLauncher, &[]).await;
    assert_eq!(outcome.additional_context, ["on branch main"]);

    let outcome = run_pre(vec![command("echo 'not json {'")]).await;
    assert_eq!(outcome.permission, None);
    assert_eq!(outcome.additional_context, Vec::<String>::new());
    assert_eq!(outcome.errors, Vec::<String>::new());
    assert_eq!(
        combine(PermissionMode::Default, Decision::Allow, &outcome),
        Decision::Allow
    );
}

#[tokio::test]
async fn other_exit_codes_are_non_blocking_errors() {
    let outcome = run_pre(vec![command("echo oops >&2; exit 1"), command("exit 127")]).await;
    assert_eq!(outcome.blocked, None);
    assert_eq!(
        outcome.errors,
        [
            "hook `echo oops >&2; exit 1` failed with exit code 1: oops",
            "hook `exit 127` failed with exit code 127"
        ]
    );
    assert_eq!(
        combine(PermissionMode::Default, Decision::Allow, &outcome),
        Decision::Allow
    );
}

#[tokio::test]
async fn a_hook_that_overruns_its_timeout_is_killed_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("survived");
    let hook = HookHandler::Command {
        command: format!("(sleep 2; touch '{}') & sleep 30", marker.display()),
        timeout: Some(Duration::from_millis(300)),
    };
    let runner = runner(
        dir.path(),
        HookEventName::PreToolUse,
        vec![(None, vec![hook])],
    );
    let started = std::time::Instant::now();
    let outcome = runner
        .run(
            &pre_tool_use(dir.path(), "bash", "ls"),
            &DirectLauncher,
            &[],
        )
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(outcome.records[0].status, HookStatus::TimedOut);
    assert_eq!(outcome.blocked, None);
    assert_eq!(outcome.errors.len(), 1);
    assert!(
        outcome.errors[0].contains("timed out"),
        "{:?}",
        outcome.errors
    );
    // The whole process group went, background job included.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(!marker.exists());
}

#[tokio::test]
async fn matchers_pick_hooks_by_tool_name() {
    let dir = tempfile::tempdir().unwrap();
    let runner = runner(
        dir.path(),
        HookEventName::PreToolUse,
        vec![
            (Some("Edit|Write"), vec![command("exit 2")]),
            (Some("Bash"), vec![command("true")]),
            (Some("bash"), vec![command("true; true")]),
            (Some("*"), vec![command("true")]),
            (Some("Ba"), vec![command("exit 2")]),
        ],
    );
    let outcome = runner
        .run(
            &pre_tool_use(dir.path(), "bash", "ls"),
            &DirectLauncher,
            &[],
        )
        .await;
    let ran: Vec<_> = outcome.records.iter().map(|r| r.matcher.clone()).collect();
    // `true` under two matchers runs once.
    assert_eq!(ran, [Some("Bash".to_owned()), Some("bash".to_owned())]);
    assert_eq!(outcome.blocked, None);
}
