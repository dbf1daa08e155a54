//! Running the tool calls of one assistant message, one after another, each
//! with live output, a result for the model and events for people.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use agentd_llm::ContentBlock;
use agentd_policy::{Decision, HookInput, HookOutcome, PermissionSet, claude_tool_name};
use agentd_protocol::EventData;
use agentd_protocol::event::ApprovalDecision;
use agentd_protocol::event::{
    FileChangeKind, FileChanged, OutputStream, ToolCompleted, ToolOutput, ToolStarted,
};
use agentd_tools::{
    ChangeKind, OutputChunk, ProcessLauncher, Tool, ToolContext, ToolOutcome, Workspace,
    truncate_output,
};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::turn::hooks::SessionHooks;
use crate::turn::{ApprovalAsk, Turn};

const CANCELLED: &str = "cancelled: the user interrupted the turn before this tool call ran";
const HALTED: &str = "not run: a hook stopped the agent before this tool call";

pub(crate) struct ToolCall {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) input: Value,
}

impl ToolCall {
    pub(crate) fn all_in(content: &[ContentBlock]) -> Vec<ToolCall> {
        content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::ToolUse { id, name, input } => Some(ToolCall {
                    id: id.clone(),
                    name: name.clone(),
                    input: input.clone(),
                }),
                _ => None,
            })
            .collect()
    }
}

pub(crate) struct Dispatched {
    /// One `tool_result` per call, in call order.
    pub(crate) results: Vec<ContentBlock>,
    pub(crate) cancelled: bool,
    /// A `PostToolUse` hook answered `continue: false`: the agent stops
    /// after this batch, with the hook's reason.
    pub(crate) halted: Option<String>,
}

pub(crate) async fn dispatch_tools(turn: &mut Turn, calls: Vec<ToolCall>) -> Dispatched {
    let settings = crate::turn::settings::load(&*turn.host, &turn.record).await;
    let rules = crate::turn::permission::rules(settings.permissions, &turn.record);
    let hooks =
        SessionHooks::from_config(&*turn.host, &turn.kit, &turn.record, settings.hooks).await;
    let mut results = Vec::with_capacity(calls.len());
    let mut halted = None;
    for call in calls {
        if turn.cancel.is_cancelled() {
            results.push(result(&call.id, CANCELLED, true));
            continue;
        }
        if halted.is_some() {
            results.push(result(&call.id, HALTED, true));
            continue;
        }
        let (outcome, halt) = run_one(turn, &rules, hooks.as_ref(), &call).await;
        results.push(result(&call.id, &outcome.content, outcome.is_error));
        halted = halt;
    }
    Dispatched {
        results,
        cancelled: turn.cancel.is_cancelled(),
        halted,
    }
}

fn result(id: &str, content: &str, is_error: bool) -> ContentBlock {
    ContentBlock::ToolResult {
        tool_use_id: id.to_owned(),
        content: content.to_owned(),
        is_error,
    }
}

async fn run_one(
    turn: &mut Turn,
    rules: &PermissionSet,
    hooks: Option<&SessionHooks>,
    call: &ToolCall,
) -> (ToolOutcome, Option<String>) {
    turn.emit(EventData::ToolStarted(ToolStarted {
        call_id: call.id.clone(),
        tool: call.name.clone(),
        input: call.input.clone(),
    }))
    .await;
    let started = Instant::now();
    let mut halt = None;
    let outcome = match permitted(turn, rules, hooks, call).await {
        Ok(input) => {
            let call = ToolCall {
                id: call.id.clone(),
                name: call.name.clone(),
                input,
            };
            let outcome = execute(turn, &call).await;
            match hooks {
                Some(hooks) => {
                    let (outcome, stop) = after_tool(turn, hooks, &call, outcome).await;
                    halt = stop;
                    outcome
                }
                None => outcome,
            }
        }
        Err(refusal) => {
            turn.denied += 1;
            ToolOutcome {
                content: refusal,
                is_error: true,
                changes: Vec::new(),
            }
        }
    };
    turn.emit(EventData::ToolCompleted(ToolCompleted {
        call_id: call.id.clone(),
        tool: call.name.clone(),
        ok: !outcome.is_error,
        output: truncate_output(&outcome.content, turn.kit.event_output_chars),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }))
    .await;
    for change in &outcome.changes {
        turn.emit(EventData::FileChanged(FileChanged {
            path: change.path.clone(),
            change: match change.kind {
                ChangeKind::Added => FileChangeKind::Added,
                ChangeKind::Modified => FileChangeKind::Modified,
                ChangeKind::Deleted => FileChangeKind::Deleted,
            },
            lines_added: change.lines_added,
            lines_removed: change.lines_removed,
        }))
        .await;
    }
    (outcome, halt)
}

/// Run an allowed call with live output.
async fn execute(turn: &Turn, call: &ToolCall) -> ToolOutcome {
    match prepare(turn, call) {
        Err(content) => ToolOutcome {
            content,
            is_error: true,
            changes: Vec::new(),
        },
        Ok((tool, workspace, launcher)) => {
            let (tx, mut rx) = mpsc::unbounded_channel::<OutputChunk>();
            let ctx = ToolContext {
                workspace,
                cancel: turn.cancel.child_token(),
                output: Some(tx),
                limits: turn.kit.tool_limits.clone(),
                launcher,
            };
            let outcome = {
                let run = tool.call(call.input.clone(), &ctx);
                tokio::pin!(run);
                loop {
                    tokio::select! {
                        outcome = &mut run => break outcome,
                        Some(chunk) = rx.recv() => emit_output(turn, &call.id, chunk).await,
                    }
                }
            };
            drop(ctx);
            // Output the tool wrote just before it returned.
            while let Ok(chunk) = rx.try_recv() {
                emit_output(turn, &call.id, chunk).await;
            }
            outcome
        }
    }
}

/// Whether the call may run, and with which input (a `PreToolUse` hook may
/// rewrite it); `Err` holds what the model is told instead.
async fn permitted(
    turn: &mut Turn,
    rules: &PermissionSet,
    hooks: Option<&SessionHooks>,
    call: &ToolCall,
) -> Result<Value, String> {
    let said = match hooks {
        Some(hooks) => {
            let input = HookInput::PreToolUse {
                tool_name: claude_tool_name(&call.name).to_owned(),
                tool_input: call.input.clone(),
                tool_use_id: call.id.clone(),
            };
            hooks.run(&*turn.host, input, Some(&call.id)).await
        }
        None => HookOutcome::default(),
    };
    // Rules judge what would actually run.
    let input = said
        .updated_input
        .clone()
        .unwrap_or_else(|| call.input.clone());
    let reason =
        match crate::turn::permission::decide(&turn.record, rules, &call.name, &input, &said) {
            Decision::Allow => return Ok(input),
            Decision::Deny { reason } => return Err(format!("permission denied: {reason}")),
            Decision::Ask { reason } => reason,
        };
    let ask = ApprovalAsk {
        call_id: call.id.clone(),
        tool: call.name.clone(),
        input: call.input.clone(),
        reason,
    };
    let resolution = turn
        .host
        .ask_approval(ask, &turn.cancel)
        .await
        .map_err(|e| format!("permission denied: the approval could not be recorded ({e})"))?;
    match resolution.decision {
        ApprovalDecision::Accept => Ok(input),
        ApprovalDecision::AcceptForSession => {
            let rule = crate::turn::permission::allow_for_session(turn, call);
            tracing::info!(id = %turn.id, %rule, "allowed for the rest of the session");
            if let Err(e) = turn.host.save(&turn.record).await {
                tracing::warn!(id = %turn.id, error = %e, "could not save the session rule");
            }
            Ok(input)
        }
        ApprovalDecision::Decline => Err(match resolution.message {
            Some(message) => format!("the user declined this tool call: {message}"),
            None => "the user declined this tool call".to_owned(),
        }),
        ApprovalDecision::Cancel => {
            turn.cancel.cancel();
            Err(CANCELLED.to_owned())
        }
    }
}

/// `PostToolUse`: the tool ran; its hooks can add feedback and context for
/// the model, which follows the tool's own output, or stop the agent
/// (`continue: false`, returned as its reason).
async fn after_tool(
    turn: &Turn,
    hooks: &SessionHooks,
    call: &ToolCall,
    mut outcome: ToolOutcome,
) -> (ToolOutcome, Option<String>) {
    let input = HookInput::PostToolUse {
        tool_name: claude_tool_name(&call.name).to_owned(),
        tool_input: call.input.clone(),
        tool_response: serde_json::json!({
            "content": outcome.content,
            "is_error": outcome.is_error,
        }),
        tool_use_id: call.id.clone(),
    };
    let said = hooks.run(&*turn.host, input, Some(&call.id)).await;
    if let Some(reason) = &said.blocked {
        outcome
            .content
            .push_str(&format!("\n\nPostToolUse hook feedback:\n{reason}"));
    }
    for context in &said.additional_context {
        outcome.content.push_str(&format!("\n\n{context}"));
    }
    let halt = said.halted.then(|| {
        said.stop_reason
            .clone()
            .unwrap_or_else(|| "no reason given".to_owned())
    });
    (outcome, halt)
}

/// What a tool call runs with.
type Prepared = (Arc<dyn Tool>, Workspace, Arc<dyn ProcessLauncher>);

/// The tool, its workspace and the (sandboxed) launcher for its processes,
/// or what to tell the model instead.
fn prepare(turn: &Turn, call: &ToolCall) -> Result<Prepared, String> {
    let kit = &turn.kit;
    let mcp = || {
        turn.mcp_tools
            .iter()
            .find(|t| t.spec().name == call.name)
            .cloned()
    };
    let tool = kit.tools.get(&call.name).or_else(mcp).ok_or_else(|| {
        let mut names = kit.tools.names();
        names.extend(turn.mcp_tools.iter().map(|t| t.spec().name));
        format!(
            "unknown tool {:?}; available: {}",
            call.name,
            names.join(", ")
        )
    })?;
    let path = Path::new(&turn.record.workspace_path);
    let workspace =
        Workspace::new(path).map_err(|e| format!("the workspace is not usable: {e}"))?;
    let mode = kit
        .sandbox
        .as_ref()
        .map_err(|e| format!("tools cannot run: {e}"))?;
    let launcher = crate::sandbox::launcher(mode, path, &kit.data_dir)
        .map_err(|e| format!("tools cannot run in the sandbox: {e}"))?;
    Ok((tool, workspace, launcher))
}

async fn emit_output(turn: &Turn, call_id: &str, chunk: OutputChunk) {
    let stream = match chunk.stream {
        agentd_tools::OutputStream::Stdout => OutputStream::Stdout,
        agentd_tools::OutputStream::Stderr => OutputStream::Stderr,
    };
    turn.emit(EventData::ToolOutput(ToolOutput {
        call_id: call_id.to_owned(),
        stream,
        chunk: chunk.text,
    }))
    .await;
}
