//! Whether a tool call may run: the Claude Code–syntax rules of the merged
//! settings (server, owner, repository, session) and the session's "accept
//! for session" answers, then the session's permission mode
//! (`agentd-policy` decides; this module gathers the rules).

use std::path::PathBuf;

use agentd_policy::{Decision, HookOutcome, PermissionSet, PolicyPaths, Rule};
use agentd_store::SessionRecord;
use serde_json::Value;

use crate::engine_state::EngineState;
use crate::turn::Turn;
use crate::turn::dispatch::ToolCall;

fn paths(record: &SessionRecord) -> PolicyPaths {
    PolicyPaths::new(
        &record.workspace_path,
        std::env::var_os("HOME").map(PathBuf::from),
    )
}

/// The rules in force: the merged settings' rules (server, owner,
/// repository, session document; see `settings`), then the session's
/// "accept for session" answers.
pub(crate) fn rules(mut set: PermissionSet, record: &SessionRecord) -> PermissionSet {
    set.allow.extend(
        EngineState::of(record)
            .session_rules
            .iter()
            .filter_map(|r| Rule::parse(r).ok()),
    );
    set
}

/// The decision once the call's `PreToolUse` hooks answered (Claude Code's
/// precedence, see `agentd_policy::decide`).
pub(crate) fn decide(
    record: &SessionRecord,
    rules: &PermissionSet,
    tool: &str,
    input: &Value,
    hooks: &HookOutcome,
) -> Decision {
    let call = agentd_policy::ToolCall::new(tool, input);
    agentd_policy::decide(record.permission_mode, rules, &call, &paths(record), hooks)
}

pub(crate) fn check(
    record: &SessionRecord,
    rules: &PermissionSet,
    tool: &str,
    input: &Value,
) -> Decision {
    let call = agentd_policy::ToolCall::new(tool, input);
    agentd_policy::evaluate(record.permission_mode, rules, &call, &paths(record))
}

/// Remember an "accept for session" answer as an allow rule for the exact
/// call (`Bash(npm test)`, `Edit(src/x.rs)`); returns the rule.
pub(crate) fn allow_for_session(turn: &mut Turn, call: &ToolCall) -> String {
    let policy_call = agentd_policy::ToolCall::new(&call.name, &call.input);
    let rule = agentd_policy::session_rule_for(&policy_call, &paths(&turn.record));
    EngineState::update(&mut turn.record, |state| {
        if !state.session_rules.contains(&rule) {
            state.session_rules.push(rule.clone());
        }
    });
    rule
}
