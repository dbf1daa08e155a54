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
use agentd_policy::Decision;
use agentd_protocol::event::ApprovalDecision;
use agentd_protocol::event::ErrorEvent;
use agentd_protocol::ids::prefixed_id;
use agentd_protocol::{ErrorCode, EventData, SessionStatus, TurnStopReason};
use agentd_sandbox::SandboxMode;
use async_trait::async_trait;

use crate::engine_state::EngineState;
use crate::error::CoreError;
use crate::turn::hooks::SessionHooks;
use crate::turn::{ApprovalAsk, RunnerKit, RunnerSession, SessionHost, Turn, TurnEnd};

pub(crate) async fn run(turn: &mut Turn, text: &str) -> Result<TurnEnd, CoreError> {
    let runner = turn.runner.clone();
    let mut slot = runner.claude().await;
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
    let grace = turn.kit.cancel_grace;
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
                if !result.text.trim().is_empty() {
                    turn.final_text = Some(result.text.clone());
                }
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
                turn.runner.set_claude_mcp_dir(None).await;
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

async fn spawn(turn: &Turn) -> Result<ClaudeProcess, (ErrorCode, String)> {
    let kit = &turn.kit;
    let cli = kit
        .claude_cli()
        .await
        .map_err(|e| (e.code(), e.to_string()))?;
    crate::sandbox::check(&kit.sandbox).map_err(|e| (e.code(), e.to_string()))?;
    let sandboxed = matches!(&kit.sandbox, Ok(mode) if !matches!(mode, SandboxMode::None));
    let (mcp_config, mcp_programs) = mcp_config_file(turn, sandboxed).await?;
    let cwd: std::path::PathBuf = turn.record.workspace_path.clone().into();
    let launcher = match &kit.sandbox {
        Ok(mode) => crate::claude::sandbox::launcher(
            mode,
            &crate::claude::sandbox::ClaudeMounts {
                workspace: &cwd,
                data_dir: &kit.data_dir,
                session: turn.id,
                cli: &cli.path,
                mcp_dir: mcp_config.as_deref().and_then(std::path::Path::parent),
                mcp_programs: &mcp_programs,
            },
        )
        .map_err(|e| (ErrorCode::Unavailable, e))?,
        Err(_) => None,
    };
    let options = SpawnOptions {
        cwd,
        model: Some(turn.record.model.clone()),
        permission_mode: turn.record.permission_mode,
        resume: EngineState::of(&turn.record).claude_session_id,
        env: claude_env(turn).await,
        mcp_config,
        append_system_prompt: None,
        extra_args: Vec::new(),
        hook_events: hook_events(turn).await,
        launcher,
    };
    let permissions = Arc::new(Gate {
        host: turn.host.clone(),
        kit: turn.kit.clone(),
        runner: turn.runner.clone(),
    });
    ClaudeProcess::spawn(&cli, options, permissions)
        .await
        .map_err(|e| (e.code(), e.to_string()))
}

/// The hook events the CLI calls back for: those with hooks configured
/// when the process starts (see `claude_hooks`).
async fn hook_events(turn: &Turn) -> Vec<String> {
    let Some(hooks) = SessionHooks::load(&*turn.host, &turn.kit, &turn.record).await else {
        return Vec::new();
    };
    crate::claude::hooks::CALLBACK_EVENTS
        .into_iter()
        .filter(|event| hooks.has(*event))
        .map(|event| event.as_str().to_owned())
        .collect()
}

/// Writes the session's MCP servers for `--mcp-config`: a 0600 file in a
/// fresh 0700 directory (the values are secrets), kept as long as the
/// session's CLI process and removed with it. Also returns the stdio
/// servers' programs; when `sandboxed`, a bare command name is resolved on
/// the server's `PATH` first, since the sandbox's `PATH` has only system
/// directories and the program's install directory is bound at its path.
async fn mcp_config_file(
    turn: &Turn,
    sandboxed: bool,
) -> Result<(Option<std::path::PathBuf>, Vec<std::path::PathBuf>), (ErrorCode, String)> {
    let mut configs = turn
        .host
        .mcp_servers()
        .await
        .map_err(|e| (ErrorCode::ToolFailed, e))?;
    turn.runner.set_claude_mcp_dir(None).await;
    if configs.is_empty() {
        return Ok((None, Vec::new()));
    }
    let mut programs = Vec::new();
    for config in &mut configs {
        if let agentd_mcp::McpTransport::Stdio { command, .. } = &mut config.transport {
            let program = crate::turn::mcp::resolve_program(command);
            if sandboxed {
                *command = program.to_string_lossy().into_owned();
            }
            programs.push(program);
        }
    }
    let document = agentd_mcp::to_claude_mcp_config(&configs);
    let write = || -> std::io::Result<(tempfile::TempDir, std::path::PathBuf)> {
        let dir = tempfile::Builder::new().prefix("agentd-mcp-").tempdir()?;
        let path = dir.path().join("mcp.json");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path)?;
        std::io::Write::write_all(&mut file, document.to_string().as_bytes())?;
        Ok((dir, path))
    };
    let (dir, path) = write().map_err(|e| {
        (
            ErrorCode::Unavailable,
            format!("cannot write the MCP configuration for Claude Code: {e}"),
        )
    })?;
    turn.runner.set_claude_mcp_dir(Some(dir)).await;
    Ok((Some(path), programs))
}

/// The CLI's environment: the server's settings, with the owner's own
/// Anthropic key in place of the server's when they stored one.
async fn claude_env(turn: &Turn) -> Vec<(String, String)> {
    let mut env = turn.kit.claude.env.clone();
    if let Some(key) = turn.owner_key().await {
        env.retain(|(name, _)| name != "ANTHROPIC_API_KEY" && name != "ANTHROPIC_AUTH_TOKEN");
        env.push(("ANTHROPIC_API_KEY".to_owned(), key.expose().to_owned()));
    }
    env
}

fn remember_session_id(turn: &mut Turn, session_id: &str) {
    if session_id.is_empty() {
        return;
    }
    EngineState::update(&mut turn.record, |state| {
        state.claude_session_id = Some(session_id.to_owned());
    });
}

async fn fail(turn: &Turn, code: ErrorCode, message: String) -> TurnEnd {
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

/// The CLI's `can_use_tool` requests go through the same rules and
/// approvals as the builtin loop's tool calls.
struct Gate {
    host: Arc<dyn SessionHost>,
    kit: Arc<RunnerKit>,
    runner: Arc<RunnerSession>,
}

#[async_trait]
impl PermissionHandler for Gate {
    async fn can_use_tool(&self, request: PermissionRequest) -> PermissionDecision {
        let record = match self.host.record().await {
            Ok(record) => record,
            Err(e) => return deny(format!("the session could not be read: {e}")),
        };
        let settings = crate::turn::settings::load(&*self.host, &record).await;
        let rules = crate::turn::permission::rules(settings.permissions, &record);
        // A PreToolUse hook that asked about this call outranks an allow rule.
        let hook_ask = match &request.tool_use_id {
            Some(call) => self.runner.take_hook_ask(call).await,
            None => None,
        };
        let decision =
            crate::turn::permission::check(&record, &rules, &request.tool_name, &request.input);
        let reason = match (decision, hook_ask) {
            (Decision::Deny { reason }, _) => return deny(format!("permission denied: {reason}")),
            (Decision::Allow, None) => {
                return PermissionDecision::Allow {
                    updated_input: request.input,
                };
            }
            (Decision::Allow, Some(reason)) | (Decision::Ask { reason }, _) => reason,
        };
        let cancel = self.runner.turn_cancel().await;
        let ask = ApprovalAsk {
            call_id: request
                .tool_use_id
                .clone()
                .unwrap_or_else(|| prefixed_id("call")),
            tool: request.tool_name.clone(),
            input: request.input.clone(),
            reason,
        };
        match self.host.ask_approval(ask, &cancel).await {
            Ok(resolution) => match resolution.decision {
                ApprovalDecision::Accept | ApprovalDecision::AcceptForSession => {
                    PermissionDecision::Allow {
                        updated_input: request.input,
                    }
                }
                ApprovalDecision::Decline => deny(
                    resolution
                        .message
                        .unwrap_or_else(|| "the user declined this tool call".into()),
                ),
                ApprovalDecision::Cancel => PermissionDecision::Deny {
                    message: "cancelled by the user".into(),
                    interrupt: true,
                },
            },
            Err(e) => deny(format!(
                "permission denied: the approval could not be recorded ({e})"
            )),
        }
    }

    async fn hook(&self, event: &str, input: serde_json::Value) -> serde_json::Value {
        crate::claude::hooks::answer(&*self.host, &self.kit, &self.runner, event, input).await
    }
}

fn deny(message: String) -> PermissionDecision {
    PermissionDecision::Deny {
        message,
        interrupt: false,
    }
}
