//! Permission rules in Claude Code's syntax, as settings files and
//! approvals write them, and the decision for a tool call.
//!
//! Input, one item per line:
//!   `allow RULE`, `ask RULE`, `deny RULE`  add a rule to that list
//!   `call TOOL JSON`                        a tool call to decide
//! or a whole settings document when the input starts with `{`.
//!
//! Invariants: nothing panics; a parsed rule parses again to itself; a
//! deny rule's verdict holds in every mode; `bypassPermissions` and
//! `unattended` never ask; `plan` never allows a tool that changes
//! anything; and the rule an "allow for this session" approval adds
//! parses, and allows the very call it was made for.
#![no_main]

use std::path::Path;

use agentd_policy::{
    Decision, PermissionSet, PolicyPaths, Rule, Settings, ToolCall, evaluate, session_rule_for,
};
use agentd_protocol::PermissionMode;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const MODES: [PermissionMode; 5] = [
    PermissionMode::Default,
    PermissionMode::AcceptEdits,
    PermissionMode::Plan,
    PermissionMode::BypassPermissions,
    PermissionMode::Unattended,
];

/// Claude Code's read-only tools, the only ones plan mode lets run.
const READ_ONLY: [&str; 8] = [
    "Read",
    "Glob",
    "Grep",
    "LS",
    "read_file",
    "glob",
    "grep",
    "list",
];

fn parse_rule(text: &str) -> Option<Rule> {
    let rule = Rule::parse(text).ok()?;
    let again = Rule::parse(rule.as_str())
        .unwrap_or_else(|e| panic!("{text:?} parsed as {rule}, which does not parse: {e}"));
    assert_eq!(
        again.as_str(),
        rule.as_str(),
        "the rule changed when parsed again"
    );
    Some(rule)
}

fn check_call(set: &PermissionSet, name: &str, input: &Value, paths: &PolicyPaths) {
    let call = ToolCall::new(name, input);
    let decisions = MODES.map(|mode| (mode, evaluate(mode, set, &call, paths)));
    let denied_by_rule = matches!(&decisions[0].1, Decision::Deny { reason } if reason.starts_with("denied by the rule"));
    for (mode, decision) in &decisions {
        if denied_by_rule {
            assert!(
                matches!(decision, Decision::Deny { .. }),
                "a deny rule did not hold in {mode:?}: {decision:?}"
            );
        }
        match mode {
            PermissionMode::BypassPermissions | PermissionMode::Unattended => {
                assert!(
                    !matches!(decision, Decision::Ask { .. }),
                    "{mode:?} asked: {decision:?}"
                )
            }
            PermissionMode::Plan if !READ_ONLY.contains(&name) => {
                assert!(
                    matches!(decision, Decision::Deny { .. }),
                    "plan mode let {name} run: {decision:?}"
                )
            }
            _ => {}
        }
    }

    // "Allow for this session": the rule must cover the call it came from.
    // Tool names that are not rule names cannot come here: builtin and MCP
    // names are `[A-Za-z0-9_-]` (agentd-mcp sanitises them).
    let rule_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if name.is_empty() || !name.chars().all(rule_name) {
        return;
    }
    let text = session_rule_for(&call, paths);
    let rule = match Rule::parse(&text) {
        Ok(rule) => rule,
        // A blank command or subagent type has no exact rule (`Bash()` is
        // refused); core then keeps asking, which is the safe answer.
        Err(_) if blank_specifier(input) => return,
        Err(e) => panic!("session rule {text:?} for {name} {input} does not parse: {e}"),
    };
    let only = PermissionSet {
        allow: vec![rule],
        ..PermissionSet::default()
    };
    let decision = evaluate(PermissionMode::Default, &only, &call, paths);
    assert_eq!(
        decision,
        Decision::Allow,
        "session rule {text:?} does not allow {name} {input}"
    );
}

fn blank_specifier(input: &Value) -> bool {
    ["command", "subagent_type"].iter().any(|field| {
        input
            .get(field)
            .and_then(Value::as_str)
            .is_some_and(|v| v.trim().is_empty())
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let paths = PolicyPaths::new("/work/ws", Some("/home/agent".into()));
    if text.trim_start().starts_with('{') {
        if let Ok(settings) = Settings::from_json(text, Path::new("settings.json")) {
            let set = &settings.permissions;
            for rule in set.allow.iter().chain(&set.ask).chain(&set.deny) {
                parse_rule(rule.as_str());
            }
        }
        return;
    }
    let mut set = PermissionSet::default();
    for line in text.lines() {
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        match word {
            "allow" => set.allow.extend(parse_rule(rest)),
            "ask" => set.ask.extend(parse_rule(rest)),
            "deny" => set.deny.extend(parse_rule(rest)),
            "call" => {
                let (name, input) = rest.split_once(' ').unwrap_or((rest, "{}"));
                if let Ok(input) = serde_json::from_str::<Value>(input) {
                    check_call(&set, name, &input, &paths);
                }
            }
            _ => {}
        }
    }
});
