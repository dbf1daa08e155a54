//! CLI messages → agentd events.
//!
//! The CLI streams each model response twice: raw SSE events
//! (`stream_event`, from `--include-partial-messages`) for the deltas, and
//! one `assistant` message *per content block* (same message id) as each
//! block completes. We emit `message.started` at `message_start`, deltas as
//! they come, and `message.completed` once, with every block, at
//! `message_stop` (or at the next user message / result when the stream was
//! cut). `tool.started` follows `message.completed`, as in the builtin
//! runtime; `tool.completed` (and `file.changed`) come from the `user`
//! message carrying the tool result. Usage is left to the turn result, so
//! nobody counts it twice. Subagent traffic (`parent_tool_use_id` set) has
//! no place in agentd's flat vocabulary yet and is skipped; the subagent's
//! answer still arrives as its Task tool's result.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use agentd_protocol::EventData;
use agentd_protocol::event::{
    Delta, ErrorEvent, MessageCompleted, MessageStarted, Role, ToolCompleted, ToolStarted,
};
use serde_json::Value;

use crate::files::file_change;
use crate::turn::{ClaudeEvent, ResultContext, code_for_kind, code_for_status, turn_result};
use crate::wire::{
    ApiErrorKind, AssistantMessage, Block, CliMessage, StreamDelta, StreamEvent, SystemMessage,
    UserContent, UserMessage,
};

/// Tool output in `tool.completed` is cut to this many characters; the
/// model saw all of it, clients get a preview.
pub(crate) const EVENT_OUTPUT_CHARS: usize = 16 * 1024;

pub(crate) struct Mapper {
    cwd: PathBuf,
    open: Option<OpenMessage>,
    tools: HashMap<String, PendingTool>,
    api_error: Option<ApiErrorKind>,
    previous_total_cost: Option<f64>,
    session_id: Option<String>,
}

struct OpenMessage {
    id: String,
    content: Vec<Value>,
}

struct PendingTool {
    name: String,
    input: Value,
    started: Instant,
}

impl Mapper {
    pub fn new(cwd: PathBuf) -> Self {
        Self {
            cwd,
            open: None,
            tools: HashMap::new(),
            api_error: None,
            previous_total_cost: None,
            session_id: None,
        }
    }

    /// The Claude session id, once `system/init` or a result named it.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// Maps one message. `interrupted`: we sent `interrupt` during this turn.
    pub fn on_message(
        &mut self,
        message: CliMessage,
        now: Instant,
        interrupted: bool,
    ) -> Vec<ClaudeEvent> {
        let mut out = Vec::new();
        match message {
            CliMessage::System(SystemMessage::Init { session_id }) => {
                self.session_id = Some(session_id);
            }
            CliMessage::System(SystemMessage::ApiRetry {
                attempt,
                max_retries,
                error_status,
                error,
            }) => {
                // The partial response (if any) is void, as in the builtin runtime.
                self.open = None;
                let code = error_status
                    .map(code_for_status)
                    .or(error.map(code_for_kind))
                    .unwrap_or(agentd_protocol::ErrorCode::ModelUnavailable);
                out.push(event(EventData::Error(ErrorEvent {
                    code,
                    message: format!(
                        "model request failed ({code}); Claude Code retries \
                         (attempt {attempt} of {max_retries})"
                    ),
                    retryable: true,
                })));
            }
            CliMessage::StreamEvent(msg) if msg.parent_tool_use_id.is_none() => {
                self.on_stream_event(msg.event, &mut out);
            }
            CliMessage::Assistant(msg) if msg.parent_tool_use_id.is_none() => {
                self.on_assistant(msg, now, &mut out);
            }
            CliMessage::User(msg) if msg.parent_tool_use_id.is_none() => {
                self.complete_open(&mut out);
                self.on_user(msg, now, &mut out);
            }
            CliMessage::Result(result) => {
                self.complete_open(&mut out);
                self.abandon_tools(now, &mut out);
                let ctx = ResultContext {
                    interrupted,
                    api_error: self.api_error.take(),
                    previous_total_cost: self.previous_total_cost,
                };
                self.previous_total_cost = result.total_cost_usd.or(self.previous_total_cost);
                if !result.session_id.is_empty() {
                    self.session_id = Some(result.session_id.clone());
                }
                out.push(ClaudeEvent::TurnEnded(turn_result(result, &ctx)));
            }
            // Subagent traffic, status frames, rate-limit info, control
            // traffic (handled by the process) and anything new.
            CliMessage::System(SystemMessage::Other)
            | CliMessage::StreamEvent(_)
            | CliMessage::Assistant(_)
            | CliMessage::User(_)
            | CliMessage::ControlRequest(_)
            | CliMessage::ControlResponse(_)
            | CliMessage::ControlCancelRequest(_)
            | CliMessage::Other => {}
        }
        out
    }

    /// The process is gone: close what is open so clients see every started
    /// message and tool end.
    pub fn finish(&mut self, now: Instant) -> Vec<ClaudeEvent> {
        let mut out = Vec::new();
        self.complete_open(&mut out);
        self.abandon_tools(now, &mut out);
        out
    }

    fn on_stream_event(&mut self, stream_event: StreamEvent, out: &mut Vec<ClaudeEvent>) {
        match stream_event {
            StreamEvent::MessageStart { message } => self.open_message(message.id, out),
            StreamEvent::ContentBlockDelta { delta } => {
                let Some(open) = &self.open else { return };
                let message_id = open.id.clone();
                match delta {
                    StreamDelta::TextDelta { text } => {
                        out.push(event(EventData::TextDelta(Delta { message_id, text })));
                    }
                    StreamDelta::ThinkingDelta { thinking } => {
                        out.push(event(EventData::ThinkingDelta(Delta {
                            message_id,
                            text: thinking,
                        })));
                    }
                    StreamDelta::Other => {}
                }
            }
            StreamEvent::MessageStop => self.complete_open(out),
            StreamEvent::Other => {}
        }
    }

    fn on_assistant(&mut self, msg: AssistantMessage, now: Instant, out: &mut Vec<ClaudeEvent>) {
        if let Some(kind) = msg.error {
            // The CLI's stand-in for a failed request: the error reaches
            // clients once, through the turn result.
            self.api_error = Some(kind);
            return;
        }
        let id = msg.message.id;
        if self.open.as_ref().is_none_or(|open| open.id != id) {
            self.open_message(id, out);
        }
        for block in &msg.message.content {
            if let Block::ToolUse { id, name, input } = Block::of(block) {
                self.tools.insert(
                    id,
                    PendingTool {
                        name,
                        input,
                        started: now,
                    },
                );
            }
        }
        if let Some(open) = &mut self.open {
            open.content.extend(msg.message.content);
        }
    }

    fn on_user(&mut self, msg: UserMessage, now: Instant, out: &mut Vec<ClaudeEvent>) {
        let blocks = match msg.message.content {
            UserContent::Blocks(blocks) => blocks,
            UserContent::Text(_) => return,
        };
        let results: Vec<(String, Value, bool)> = blocks
            .iter()
            .filter_map(|b| match Block::of(b) {
                Block::ToolResult {
                    tool_use_id,
                    content,
                    is_error,
                } => Some((tool_use_id, content, is_error)),
                Block::ToolUse { .. } | Block::Text { .. } | Block::Other => None,
            })
            .collect();
        // `tool_use_result` describes the message's only tool result.
        let structured = if results.len() == 1 {
            msg.tool_use_result.as_ref()
        } else {
            None
        };
        for (call_id, content, is_error) in results {
            let Some(tool) = self.tools.remove(&call_id) else {
                tracing::debug!(%call_id, "claude: result for a tool call we did not see");
                continue;
            };
            out.push(event(EventData::ToolCompleted(ToolCompleted {
                call_id,
                tool: tool.name.clone(),
                ok: !is_error,
                output: truncate(&result_text(&content), EVENT_OUTPUT_CHARS),
                duration_ms: millis(now, tool.started),
            })));
            if !is_error
                && let Some(change) = file_change(&tool.name, &tool.input, structured, &self.cwd)
            {
                out.push(event(EventData::FileChanged(change)));
            }
        }
    }

    fn open_message(&mut self, id: String, out: &mut Vec<ClaudeEvent>) {
        if self.open.as_ref().is_some_and(|open| open.id == id) {
            return;
        }
        self.complete_open(out);
        out.push(event(EventData::MessageStarted(MessageStarted {
            message_id: id.clone(),
            role: Role::Assistant,
        })));
        self.open = Some(OpenMessage {
            id,
            content: Vec::new(),
        });
    }

    fn complete_open(&mut self, out: &mut Vec<ClaudeEvent>) {
        let Some(open) = self.open.take() else { return };
        let tool_uses: Vec<ToolStarted> = open
            .content
            .iter()
            .filter_map(|b| match Block::of(b) {
                Block::ToolUse { id, name, input } => Some(ToolStarted {
                    call_id: id,
                    tool: name,
                    input,
                }),
                Block::ToolResult { .. } | Block::Text { .. } | Block::Other => None,
            })
            .collect();
        out.push(event(EventData::MessageCompleted(MessageCompleted {
            message_id: open.id,
            role: Role::Assistant,
            content: open.content,
        })));
        out.extend(
            tool_uses
                .into_iter()
                .map(|t| event(EventData::ToolStarted(t))),
        );
    }

    /// Tool calls that never got a result (the turn or process ended first).
    fn abandon_tools(&mut self, now: Instant, out: &mut Vec<ClaudeEvent>) {
        let mut left: Vec<(String, PendingTool)> = self.tools.drain().collect();
        left.sort_by_key(|(_, tool)| tool.started);
        for (call_id, tool) in left {
            out.push(event(EventData::ToolCompleted(ToolCompleted {
                call_id,
                tool: tool.name,
                ok: false,
                output: "the turn ended before the tool returned".into(),
                duration_ms: millis(now, tool.started),
            })));
        }
    }
}

fn event(data: EventData) -> ClaudeEvent {
    ClaudeEvent::Event(data)
}

fn millis(now: Instant, since: Instant) -> u64 {
    u64::try_from(now.saturating_duration_since(since).as_millis()).unwrap_or(u64::MAX)
}

/// A tool result's `content`: a string, or text blocks.
fn result_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .map(|b| match Block::of(b) {
                Block::Text { text } => text,
                Block::ToolUse { .. } | Block::ToolResult { .. } | Block::Other => {
                    "[non-text content]".to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Cut on a character boundary, saying how much was left out.
pub(crate) fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some((cut, _)) => {
            let total = text.chars().count();
            format!("{}… [{} more characters]", &text[..cut], total - max_chars)
        }
    }
}
