//! agentd's hooks on the claude-code runtime.
//!
//! The CLI could run hooks itself from a `--settings` file, but then command
//! hooks would run outside the session's sandbox, HTTP hooks unsigned, no
//! run would reach the audit log, and a hook `allow` would skip agentd's own
//! rules, which the CLI never sees. So agentd registers its hook events as
//! callbacks in the control protocol's `initialize` (as the Agent SDKs do)
//! and answers each `hook_callback` by running the hooks itself, exactly as
//! the builtin loop does; the CLI only applies the answer.
//!
//! `PreToolUse` answers carry the decision agentd reached from the hooks
//! *and* its rules: `deny` (the reason goes to the model), `allow` (the
//! call needs no prompt, so the CLI does not ask `can_use_tool`), or no
//! decision when a person must decide — then the CLI asks `can_use_tool`,
//! which goes through the same approvals (and asks even when the rules
//! alone would allow, if it was a hook that asked).

use agentd_policy::{Decision, HookEventName, HookInput, claude_tool_name};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::turn::hooks::SessionHooks;
use crate::turn::{RunnerKit, RunnerSession, SessionHost};

/// The events the CLI calls back for; the others agentd fires itself around
/// the turn, the same way for both runtimes.
pub(crate) const CALLBACK_EVENTS: [HookEventName; 3] = [
    HookEventName::PreToolUse,
    HookEventName::PostToolUse,
    HookEventName::Stop,
];

#[derive(Deserialize)]
struct ToolFields {
    #[serde(default)]
    tool_name: String,
    #[serde(default)]
    tool_input: Value,
    #[serde(default)]
    tool_use_id: String,
    #[serde(default)]
    tool_response: Value,
    #[serde(default)]
    stop_hook_active: bool,
}

/// The hook output JSON for one `hook_callback`.
pub(crate) async fn answer(
    host: &dyn SessionHost,
    kit: &RunnerKit,
    runner: &RunnerSession,
    event: &str,
    input: Value,
) -> Value {
    let Ok(record) = host.record().await else {
        return json!({});
    };
    let Ok(fields) = ToolFields::deserialize(&input) else {
        return json!({});
    };
    let settings = crate::turn::settings::load(host, &record).await;
    let rules = crate::turn::permission::rules(settings.permissions, &record);
    let Some(hooks) = SessionHooks::from_config(host, kit, &record, settings.hooks).await else {
        return json!({});
    };
    let tool_name = claude_tool_name(&fields.tool_name).to_owned();
    let call_id = Some(fields.tool_use_id.as_str()).filter(|s| !s.is_empty());
    match event {
        "PreToolUse" => {
            let hook_input = HookInput::PreToolUse {
                tool_name,
                tool_input: fields.tool_input.clone(),
                tool_use_id: fields.tool_use_id.clone(),
            };
            let said = hooks.run(host, hook_input, call_id).await;
            let tool_input = said
                .updated_input
                .clone()
                .unwrap_or_else(|| fields.tool_input.clone());
            let decision = crate::turn::permission::decide(
                &record,
                &rules,
                &fields.tool_name,
                &tool_input,
                &said,
            );
            let context =
                (!said.additional_context.is_empty()).then(|| said.additional_context.join("\n"));
            match decision {
                Decision::Deny { reason } => pre_tool_use(json!({
                    "permissionDecision": "deny",
                    "permissionDecisionReason": format!("permission denied: {reason}"),
                })),
                Decision::Allow => pre_tool_use(json!({
                    "permissionDecision": "allow",
                    "updatedInput": tool_input,
                    "additionalContext": context,
                })),
                Decision::Ask { reason } => {
                    let rules_alone = crate::turn::permission::check(
                        &record,
                        &rules,
                        &fields.tool_name,
                        &tool_input,
                    );
                    if !matches!(rules_alone, Decision::Ask { .. }) {
                        runner.hook_asked(fields.tool_use_id.clone(), reason).await;
                    }
                    // No decision: the CLI's own flow ends in `can_use_tool`.
                    json!({})
                }
            }
        }
        "PostToolUse" => {
            let hook_input = HookInput::PostToolUse {
                tool_name,
                tool_input: fields.tool_input,
                tool_response: fields.tool_response,
                tool_use_id: fields.tool_use_id.clone(),
            };
            let said = hooks.run(host, hook_input, call_id).await;
            let mut out = json!({});
            if let Some(reason) = said.blocked {
                out = json!({"decision": "block", "reason": reason});
            }
            if !said.additional_context.is_empty() {
                out["hookSpecificOutput"] = json!({
                    "hookEventName": "PostToolUse",
                    "additionalContext": said.additional_context.join("\n"),
                });
            }
            out
        }
        "Stop" => {
            let hook_input = HookInput::Stop {
                stop_hook_active: fields.stop_hook_active,
            };
            let said = hooks.run(host, hook_input, None).await;
            match (said.halted, said.blocked) {
                (true, _) => json!({"continue": false, "stopReason": said.stop_reason}),
                (false, Some(reason)) => json!({"decision": "block", "reason": reason}),
                (false, None) => json!({}),
            }
        }
        _ => json!({}),
    }
}

fn pre_tool_use(mut specific: Value) -> Value {
    specific["hookEventName"] = json!("PreToolUse");
    if let Value::Object(map) = &mut specific {
        map.retain(|_, v| !v.is_null());
    }
    json!({ "hookSpecificOutput": specific })
}
