//! Helpers shared by the integration tests.
#![allow(dead_code)]

use agentd_policy::{Decision, PermissionSet, PolicyPaths, Rule, ToolCall, evaluate};
use agentd_protocol::PermissionMode;
use serde_json::{Value, json};

pub const WORKSPACE: &str = "/work/repo";
pub const HOME: &str = "/home/dev";

pub fn paths() -> PolicyPaths {
    PolicyPaths::new(WORKSPACE, Some(HOME.into()))
}

pub fn rules(texts: &[&str]) -> Vec<Rule> {
    texts.iter().map(|t| Rule::parse(t).unwrap()).collect()
}

pub fn set(allow: &[&str], ask: &[&str], deny: &[&str]) -> PermissionSet {
    PermissionSet {
        allow: rules(allow),
        ask: rules(ask),
        deny: rules(deny),
    }
}

/// Whether `rule` matches the call: put it alone in `deny` and see.
pub fn matches(rule: &str, tool: &str, input: &Value) -> bool {
    let set = set(&[], &[], &[rule]);
    let decision = evaluate(
        PermissionMode::BypassPermissions,
        &set,
        &ToolCall::new(tool, input),
        &paths(),
    );
    matches!(decision, Decision::Deny { .. })
}

pub fn decide(mode: PermissionMode, set: &PermissionSet, tool: &str, input: Value) -> Decision {
    evaluate(mode, set, &ToolCall::new(tool, &input), &paths())
}

pub fn bash(command: &str) -> Value {
    json!({ "command": command })
}

pub fn path(p: &str) -> Value {
    json!({ "path": p })
}

pub fn kind(decision: &Decision) -> &'static str {
    match decision {
        Decision::Allow => "allow",
        Decision::Ask { .. } => "ask",
        Decision::Deny { .. } => "deny",
    }
}
