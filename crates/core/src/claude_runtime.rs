//! The claude-code runtime: the real Claude Code CLI runs the turn.
//!
//! One CLI process per live session, kept across turns (follow-ups go to the
//! same process as stream-json user messages). Its messages arrive already
//! mapped to agentd events; this module forwards them, counts usage, keeps
//! the Claude session id (so a restarted server continues it with
//! `--resume`) and turns cancel into the control protocol's `interrupt`.

use std::sync::Arc;

use agentd_claude::{
    ClaudeEvent, ClaudeProcess, PermissionDecision, PermissionHandler, PermissionRequest,
    SpawnOptions,
};
use agentd_protocol::event::ErrorEvent;
use agentd_protocol::{ErrorCode, EventData, PermissionMode, SessionStatus, TurnStopReason};
use async_trait::async_trait;
use serde_json::json;

use crate::error::CoreError;
use crate::turn::{Turn, TurnEnd};

/// Where the Claude session id lives in `runtime_state`.
const SESSION_KEY: &str = "claude_session_id";

pub(crate) async fn run(turn: &mut Turn<'_>, text: &str) -> Result<TurnEnd, CoreError> {
    let live = turn.live.clone();
    let mut slot = live.claude.lock().await;
    if slot.is_none() {
        match spawn(turn).await {
            Ok(process) => *slot = Some(process),
            Err((code, message)) => return Ok(fail(turn, code, message).await),
        }
    }
    let Some(process) = slot.as_mut() else {
        return Ok(fail(
            turn,
            ErrorCode::Internal,
            "the Claude Code process is gone".into(),
        )
        .await);
    };
    if let Err(e) = process.send_user(text).await {
        *slot = None;
        return Ok(fail(turn, e.code(), e.to_string()).await);
    }
    let grace = turn.manager.inner.config.cancel_grace;
    let mut interrupted = false;
    loop {
        let next = tokio::select! {
            _ = turn.cancel.cancelled(), if !interrupted => {
                interrupted = true;
                if let Err(e) = process.interrupt(grace).await {
                    tracing::warn!(id = %turn.id, error = %e, "interrupting Claude Code failed");
                }
                continue;
            }
            next = process.next() => next,
        };
        match next {
            Some(ClaudeEvent::Event(event)) => turn.emit(event).await,
            Some(ClaudeEvent::TurnEnded(result)) => {
                remember_session_id(turn, &result.session_id);
                turn.account(result.usage).await?;
                if interrupted {
                    return Ok(turn.cancelled_end());
                }
                if let Some((code, message)) = result.error {
                    return Ok(fail(turn, code, message).await);
                }
                return Ok(TurnEnd::new(result.stop));
            }
            exited @ (Some(ClaudeEvent::Exited { .. }) | None) => {
                *slot = None;
                let (code, stderr_tail) = match exited {
                    Some(ClaudeEvent::Exited { code, stderr_tail }) => (code, stderr_tail),
                    _ => (None, String::new()),
                };
                if interrupted {
                    return Ok(turn.cancelled_end());
                }
                let message = format!(
                    "Claude Code exited unexpectedly (exit code {}): {}",
                    code.map_or_else(|| "none".to_owned(), |c| c.to_string()),
                    stderr_tail.trim()
                );
                return Ok(fail(turn, ErrorCode::ModelUnavailable, message).await);
            }
        }
    }
}

async fn spawn(turn: &Turn<'_>) -> Result<ClaudeProcess, (ErrorCode, String)> {
    let inner = &turn.manager.inner;
    let cli = inner
        .claude_cli()
        .await
        .map_err(|e| (e.code(), e.to_string()))?;
    let options = SpawnOptions {
        cwd: turn.record.workspace_path.clone().into(),
        model: Some(turn.record.model.clone()),
        permission_mode: turn.record.permission_mode,
        resume: turn
            .record
            .runtime_state
            .as_ref()
            .and_then(|state| state.get(SESSION_KEY))
            .and_then(|id| id.as_str())
            .map(str::to_owned),
        env: inner.config.claude.env.clone(),
        mcp_config: None,
        append_system_prompt: None,
        extra_args: Vec::new(),
    };
    let permissions = Arc::new(ModePermissions(turn.record.permission_mode));
    ClaudeProcess::spawn(&cli, options, permissions)
        .await
        .map_err(|e| (e.code(), e.to_string()))
}

fn remember_session_id(turn: &mut Turn<'_>, session_id: &str) {
    if session_id.is_empty() {
        return;
    }
    let mut state = match turn.record.runtime_state.take() {
        Some(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    state.insert(SESSION_KEY.to_owned(), json!(session_id));
    turn.record.runtime_state = Some(serde_json::Value::Object(state));
}

async fn fail(turn: &Turn<'_>, code: ErrorCode, message: String) -> TurnEnd {
    turn.emit(EventData::Error(ErrorEvent {
        code,
        message: message.clone(),
        retryable: false,
    }))
    .await;
    TurnEnd {
        stop: TurnStopReason::Error,
        status: SessionStatus::Failed,
        reason: Some(message),
    }
}

/// Until approvals reach people (a later issue), the session's permission
/// mode answers the CLI's `can_use_tool` requests: plan mode allows only
/// reading tools, every other mode allows.
struct ModePermissions(PermissionMode);

const READ_ONLY_TOOLS: &[&str] = &[
    "Read",
    "Glob",
    "Grep",
    "LS",
    "WebFetch",
    "WebSearch",
    "TodoWrite",
    "NotebookRead",
];

#[async_trait]
impl PermissionHandler for ModePermissions {
    async fn can_use_tool(&self, request: PermissionRequest) -> PermissionDecision {
        match self.0 {
            PermissionMode::Plan if !READ_ONLY_TOOLS.contains(&request.tool_name.as_str()) => {
                PermissionDecision::Deny {
                    message: format!(
                        "{} is not allowed in plan mode (read-only)",
                        request.tool_name
                    ),
                    interrupt: false,
                }
            }
            PermissionMode::Plan
            | PermissionMode::Default
            | PermissionMode::AcceptEdits
            | PermissionMode::BypassPermissions
            | PermissionMode::Unattended => PermissionDecision::Allow {
                updated_input: request.input,
            },
        }
    }
}
