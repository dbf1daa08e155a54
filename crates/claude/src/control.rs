//! The control protocol's CLI → host side: `can_use_tool` and
//! `hook_callback` go to the [`PermissionHandler`]; every other subtype gets
//! an error reply, because a request left unanswered stalls the CLI.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::pump::Shared;
use crate::wire::{CanUseTool, ControlRequest, IncomingRequest, SubtypeOnly};

/// Decides the tool calls the CLI would otherwise ask a person about.
#[async_trait]
pub trait PermissionHandler: Send + Sync {
    async fn can_use_tool(&self, request: PermissionRequest) -> PermissionDecision;

    /// A hook registered through [`SpawnOptions::hook_events`](crate::SpawnOptions)
    /// fired: `event` is its name, `input` the hook input JSON (Claude
    /// Code's contract). The answer is the hook's JSON output.
    async fn hook(&self, event: &str, input: Value) -> Value {
        let _ = (event, input);
        json!({})
    }
}

/// One `can_use_tool` request.
#[derive(Clone, Debug, PartialEq)]
pub struct PermissionRequest {
    pub tool_name: String,
    pub input: Value,
    pub tool_use_id: Option<String>,
    /// The CLI's proposed rule updates (`PermissionUpdate` objects, raw),
    /// e.g. "always allow `Bash(touch x)`" or "switch to acceptEdits".
    pub suggestions: Vec<Value>,
    /// The path that made the call need approval, if one did.
    pub blocked_path: Option<String>,
    /// The CLI's one-line summary of the call.
    pub description: Option<String>,
    /// Set when a subagent makes the call.
    pub agent_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PermissionDecision {
    /// Run the tool with this input (the original, or an edited one).
    Allow { updated_input: Value },
    /// Do not run it; the model sees `message` as the tool's error.
    /// `interrupt` also ends the turn.
    Deny { message: String, interrupt: bool },
}

impl From<CanUseTool> for PermissionRequest {
    fn from(r: CanUseTool) -> Self {
        Self {
            tool_name: r.tool_name,
            input: r.input,
            tool_use_id: r.tool_use_id,
            suggestions: r.permission_suggestions.unwrap_or_default(),
            blocked_path: r.blocked_path,
            description: r.description,
            agent_id: r.agent_id,
        }
    }
}

/// The `response` object of a `can_use_tool` reply. `updatedInput` is
/// always sent on allow: older CLIs treated a missing one as `{}` and ran
/// the tool without arguments.
fn decision_json(decision: PermissionDecision) -> Value {
    match decision {
        PermissionDecision::Allow { updated_input } => {
            json!({"behavior": "allow", "updatedInput": updated_input})
        }
        PermissionDecision::Deny { message, interrupt } => {
            json!({"behavior": "deny", "message": message, "interrupt": interrupt})
        }
    }
}

/// Answers one CLI request on its own task, so a slow decision (a person
/// on their phone) blocks neither the stdout reader nor other requests.
pub(crate) fn dispatch(shared: &Arc<Shared>, request: ControlRequest) {
    let ControlRequest {
        request_id,
        request,
    } = request;
    let task_shared = shared.clone();
    let id = request_id.clone();
    let task = tokio::spawn(async move {
        let reply = answer(&task_shared, &request).await;
        task_shared.forget_inflight(&id);
        let line = match reply {
            Ok(response) => json!({"type": "control_response", "response":
                {"subtype": "success", "request_id": id, "response": response}}),
            Err(error) => json!({"type": "control_response", "response":
                {"subtype": "error", "request_id": id, "error": error}}),
        };
        if let Err(err) = task_shared.write_line(&line).await {
            tracing::warn!(error = %err, "claude: cannot answer a control request");
        }
    });
    shared.track_inflight(request_id, task.abort_handle());
}

async fn answer(shared: &Shared, request: &Value) -> Result<Value, String> {
    match IncomingRequest::deserialize(request) {
        Ok(IncomingRequest::CanUseTool(ask)) => {
            let decision = shared.permissions.can_use_tool(ask.into()).await;
            Ok(decision_json(decision))
        }
        Ok(IncomingRequest::HookCallback(call)) => {
            Ok(shared.permissions.hook(&call.callback_id, call.input).await)
        }
        Ok(IncomingRequest::Other) | Err(_) => {
            let subtype = SubtypeOnly::deserialize(request)
                .map(|s| s.subtype)
                .unwrap_or_default();
            tracing::warn!(%subtype, "claude: unsupported control request");
            Err(format!(
                "agentd does not support the control request `{subtype}`"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_have_the_sdk_shape() {
        assert_eq!(
            decision_json(PermissionDecision::Allow {
                updated_input: json!({"a": 1})
            }),
            json!({"behavior": "allow", "updatedInput": {"a": 1}})
        );
        assert_eq!(
            decision_json(PermissionDecision::Deny {
                message: "no".into(),
                interrupt: false
            }),
            json!({"behavior": "deny", "message": "no", "interrupt": false})
        );
    }
}
