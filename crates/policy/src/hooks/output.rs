//! Reading what one hook said: its exit code and stdout/stderr, or an HTTP
//! hook's response body, per Claude Code's contract.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::config::HookEventName;

/// A `PreToolUse` hook's `permissionDecision`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HookDecision {
    // Declared weakest first: when hooks disagree the strongest wins
    // (deny > defer > ask > allow), so `Ord` is the combining rule.
    Allow,
    Ask,
    Defer,
    Deny,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HookPermission {
    pub decision: HookDecision,
    pub reason: Option<String>,
}

/// The effect of one hook run, before results of parallel hooks are combined.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Effect {
    pub permission: Option<HookPermission>,
    pub blocked: Option<String>,
    /// `continue: false`, with its `stopReason`.
    pub halt: Option<Option<String>>,
    pub updated_input: Option<Value>,
    pub additional_context: Option<String>,
    pub system_message: Option<String>,
    pub suppress_output: bool,
    /// A non-blocking error, for the user.
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawOutput {
    #[serde(rename = "continue")]
    continue_: Option<bool>,
    stop_reason: Option<String>,
    suppress_output: Option<bool>,
    system_message: Option<String>,
    decision: Option<String>,
    reason: Option<String>,
    hook_specific_output: Option<RawSpecific>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSpecific {
    permission_decision: Option<HookDecision>,
    permission_decision_reason: Option<String>,
    updated_input: Option<Value>,
    additional_context: Option<String>,
}

/// Longest stderr quoted in an error or reason.
const MAX_QUOTED_CHARS: usize = 4_000;

/// A command hook that exited with `code`.
pub(crate) fn from_exit(
    event: HookEventName,
    code: i32,
    stdout: &str,
    stderr: &str,
    who: &str,
) -> Effect {
    let stderr = agentd_tools::truncate_output(stderr.trim(), MAX_QUOTED_CHARS);
    match code {
        0 => from_body(event, stdout, who),
        // Exit 2 blocks: stderr is the reason and stdout is ignored.
        2 => Effect {
            blocked: Some(if stderr.is_empty() {
                format!("blocked by the hook `{who}` (exit code 2)")
            } else {
                stderr
            }),
            ..Effect::default()
        },
        code => Effect {
            error: Some(if stderr.is_empty() {
                format!("hook `{who}` failed with exit code {code}")
            } else {
                format!("hook `{who}` failed with exit code {code}: {stderr}")
            }),
            ..Effect::default()
        },
    }
}

/// A successful hook's output: JSON when it is a JSON object; plain text is
/// context for `UserPromptSubmit` and `SessionStart` and ignored elsewhere.
pub(crate) fn from_body(event: HookEventName, body: &str, who: &str) -> Effect {
    let body = body.trim();
    if body.starts_with('{')
        && let Ok(value) = serde_json::from_str::<Value>(body)
    {
        return match serde_json::from_value::<RawOutput>(value) {
            Ok(raw) => from_json(event, raw),
            Err(e) => Effect {
                error: Some(format!("hook `{who}` printed JSON agentd cannot read: {e}")),
                ..Effect::default()
            },
        };
    }
    let plain_is_context = matches!(
        event,
        HookEventName::UserPromptSubmit | HookEventName::SessionStart
    );
    Effect {
        additional_context: (plain_is_context && !body.is_empty()).then(|| body.to_owned()),
        ..Effect::default()
    }
}

fn from_json(event: HookEventName, raw: RawOutput) -> Effect {
    let is_pre_tool = event == HookEventName::PreToolUse;
    let mut effect = Effect {
        halt: (raw.continue_ == Some(false)).then_some(raw.stop_reason),
        suppress_output: raw.suppress_output.unwrap_or(false),
        system_message: raw.system_message,
        ..Effect::default()
    };
    match raw.decision.as_deref() {
        Some("block") => {
            effect.blocked = Some(
                raw.reason
                    .clone()
                    .unwrap_or_else(|| "blocked by a hook".to_owned()),
            );
        }
        // The deprecated PreToolUse form of `permissionDecision: allow`.
        Some("approve") if is_pre_tool => {
            effect.permission = Some(HookPermission {
                decision: HookDecision::Allow,
                reason: raw.reason.clone(),
            });
        }
        _ => {}
    }
    if let Some(specific) = raw.hook_specific_output {
        if is_pre_tool {
            if let Some(decision) = specific.permission_decision {
                effect.permission = Some(HookPermission {
                    decision,
                    reason: specific.permission_decision_reason,
                });
            }
            effect.updated_input = specific.updated_input;
        }
        effect.additional_context = specific.additional_context;
    }
    effect
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use super::*;

    #[test]
    fn pre_tool_use_json_is_read() {
        let body = json!({
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "ask",
                "permissionDecisionReason": "touches prod",
                "updatedInput": {"command": "ls"},
                "additionalContext": "prod is frozen"
            },
            "systemMessage": "careful",
            "unknownKey": 1
        });
        let effect = from_body(HookEventName::PreToolUse, &body.to_string(), "h");
        assert_eq!(
            effect,
            Effect {
                permission: Some(HookPermission {
                    decision: HookDecision::Ask,
                    reason: Some("touches prod".to_owned()),
                }),
                updated_input: Some(json!({"command": "ls"})),
                additional_context: Some("prod is frozen".to_owned()),
                system_message: Some("careful".to_owned()),
                ..Effect::default()
            }
        );
    }

    #[test]
    fn continue_false_halts_with_its_reason() {
        let effect = from_body(
            HookEventName::Stop,
            r#"{"continue":false,"stopReason":"done"}"#,
            "h",
        );
        assert_eq!(effect.halt, Some(Some("done".to_owned())));
    }

    #[test]
    fn plain_stdout_is_context_only_where_claude_code_reads_it() {
        let prompt = from_body(HookEventName::UserPromptSubmit, "branch: main\n", "h");
        assert_eq!(prompt.additional_context.as_deref(), Some("branch: main"));
        let tool = from_body(HookEventName::PreToolUse, "hello", "h");
        assert_eq!(tool, Effect::default());
    }

    #[test]
    fn decisions_order_deny_defer_ask_allow() {
        let mut all = [
            HookDecision::Ask,
            HookDecision::Deny,
            HookDecision::Allow,
            HookDecision::Defer,
        ];
        all.sort();
        assert_eq!(
            all,
            [
                HookDecision::Allow,
                HookDecision::Ask,
                HookDecision::Defer,
                HookDecision::Deny
            ]
        );
    }
}
