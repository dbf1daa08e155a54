#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use agentd_policy::{
    HookEventName, HookHandler, PolicyPaths, RuleErrorKind, Settings, SettingsError, ToolCall,
    evaluate,
};
use agentd_protocol::PermissionMode;
use common::{bash, kind};
use serde_json::json;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir.join(".claude")).unwrap();
    std::fs::write(dir.join(".claude").join(name), text).unwrap();
}

#[test]
fn repository_settings_take_effect() {
    let repo = tempfile::tempdir().unwrap();
    write(
        repo.path(),
        "settings.json",
        r#"{
          "$schema": "https://json.schemastore.org/claude-code-settings.json",
          "model": "opus",
          "permissions": {
            "allow": ["Bash(cargo test:*)"],
            "deny": ["Read(./.env)"],
            "defaultMode": "acceptEdits",
            "additionalDirectories": ["../shared"]
          },
          "hooks": {
            "PreToolUse": [{"matcher": "Bash|Edit", "hooks": [
              {"type": "command", "command": "guard.sh", "timeout": 5},
              {"type": "prompt", "prompt": "is this safe?"}
            ]}],
            "PreCompact": [{"hooks": [{"type": "command", "command": "x"}]}]
          }
        }"#,
    );
    write(
        repo.path(),
        "settings.local.json",
        r#"{"permissions": {"ask": ["Bash(cargo test --release)"]}}"#,
    );
    let settings = Settings::load_repo(repo.path()).unwrap();
    assert_eq!(settings.default_mode, Some(PermissionMode::AcceptEdits));

    let paths = PolicyPaths::new(repo.path(), None);
    let decide = |tool: &str, input: serde_json::Value| {
        let call = ToolCall::new(tool, &input);
        kind(&evaluate(
            PermissionMode::Default,
            &settings.permissions,
            &call,
            &paths,
        ))
    };
    assert_eq!(decide("bash", bash("cargo test -p x")), "allow");
    assert_eq!(decide("bash", bash("cargo test --release")), "ask");
    assert_eq!(decide("read_file", json!({"path": ".env"})), "deny");
    assert_eq!(decide("read_file", json!({"path": "src/lib.rs"})), "allow");

    // Unsupported hook kinds and events are skipped, the rest kept.
    let groups = &settings.hooks.groups;
    assert_eq!(groups.len(), 1);
    let pre = &groups[&HookEventName::PreToolUse];
    assert_eq!(pre[0].matcher.as_deref(), Some("Bash|Edit"));
    assert_eq!(
        pre[0].hooks,
        [HookHandler::Command {
            command: "guard.sh".into(),
            timeout: Some(std::time::Duration::from_secs(5)),
        }]
    );
}

#[test]
fn missing_repository_settings_are_empty() {
    let repo = tempfile::tempdir().unwrap();
    let settings = Settings::load_repo(repo.path()).unwrap();
    assert!(settings.permissions.allow.is_empty());
    assert!(settings.hooks.is_empty());
    assert_eq!(settings.default_mode, None);
}

#[test]
fn invalid_settings_get_clear_errors() {
    let repo = tempfile::tempdir().unwrap();
    write(
        repo.path(),
        "settings.json",
        "{\n  \"permissions\": {\n    \"allow\": [\"Bash\",]\n  }\n}",
    );
    let err = Settings::load_repo(repo.path()).unwrap_err();
    assert!(
        matches!(err, SettingsError::InvalidJson { line: 3, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains(".claude/settings.json is not valid JSON (line 3"),
        "{err}"
    );

    write(
        repo.path(),
        "settings.json",
        r#"{"permissions": {"allow": "Bash"}}"#,
    );
    let err = Settings::load_repo(repo.path()).unwrap_err();
    assert!(matches!(err, SettingsError::InvalidShape { .. }), "{err:?}");

    write(
        repo.path(),
        "settings.json",
        r#"{"permissions": {"deny": ["Bash(rm:*)", "Read(./x"]}}"#,
    );
    let err = Settings::load_repo(repo.path()).unwrap_err();
    match &err {
        SettingsError::InvalidRule { list, source, .. } => {
            assert_eq!(*list, "deny");
            assert_eq!(source.kind, RuleErrorKind::UnclosedParen);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .contains("permissions.deny: invalid permission rule \"Read(./x\""),
        "{err}"
    );

    write(
        repo.path(),
        "settings.json",
        r#"{"hooks": {"PreToolUse": [{"matcher": "Bash(", "hooks": []}]}}"#,
    );
    let err = Settings::load_repo(repo.path()).unwrap_err();
    assert!(
        err.to_string()
            .contains("hooks.PreToolUse: invalid matcher"),
        "{err}"
    );
}

#[test]
fn layers_merge_lowest_first() {
    let parse = |text: &str| Settings::from_json(text, Path::new("test")).unwrap();
    let server = parse(r#"{"permissions": {"deny": ["Bash(sudo:*)"], "defaultMode": "default"}}"#);
    let user = parse(r#"{"permissions": {"allow": ["Bash(ls)"], "defaultMode": "dontAsk"}}"#);
    let repo = parse(r#"{"permissions": {"allow": ["Bash(sudo ls)"], "defaultMode": "auto"}}"#);
    let merged = Settings::merged([server, user, repo]);
    let texts: Vec<String> = merged
        .permissions
        .allow
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(texts, ["Bash(ls)", "Bash(sudo ls)"]);
    // `auto` is unknown to agentd, so the user's `dontAsk` (unattended) stands.
    assert_eq!(merged.default_mode, Some(PermissionMode::Unattended));
    // The server's deny still wins over the repository's allow.
    let paths = PolicyPaths::new("/w", None);
    let input = bash("sudo ls");
    let call = ToolCall::new("bash", &input);
    assert_eq!(
        kind(&evaluate(
            PermissionMode::Default,
            &merged.permissions,
            &call,
            &paths
        )),
        "deny"
    );
}
