//! One turn: the user's input, then sample → dispatch tools → sample … until
//! the model ends its turn, a limit hits, the turn is cancelled or fails.
//!
//! A turn holds its `RunnerKit` (what it runs with), its `RunnerSession`
//! (what the runner keeps across turns) and its `SessionHost` (everything
//! else); it never reaches into the engine's sessions or store.

mod builtin;
pub(crate) mod checkpoint;
pub(crate) mod conversation;
mod dispatch;
pub(crate) mod hooks;
mod host;
mod kit;
pub(crate) mod mcp;
pub(crate) mod permission;
mod runner_session;
mod sample;
pub(crate) mod settings;
mod task;

#[cfg(test)]
mod seam_tests;

use std::sync::Arc;

use agentd_llm::{ContentBlock, Role};
use agentd_protocol::event::{ErrorEvent, TurnCompleted, TurnStarted, UsageReport};
use agentd_protocol::{
    ErrorCode, EventData, Runtime, SessionId, SessionStatus, TurnStopReason, Usage,
};
use agentd_store::{BatchWrites, InputRecord, SessionRecord, TranscriptWrite};
use tokio_util::sync::CancellationToken;

use agentd_policy::HookInput;

pub(crate) use host::{ApprovalAsk, Resolution, SessionHost, SettingsLayers, StatusCommit};
pub(crate) use kit::RunnerKit;
pub(crate) use runner_session::RunnerSession;

use crate::error::CoreError;
use crate::event_log::now_ms;
use hooks::SessionHooks;

/// How a turn ended, with what the session's status becomes.
pub(crate) struct TurnEnd {
    pub(crate) stop: TurnStopReason,
    pub(crate) status: SessionStatus,
    pub(crate) reason: Option<String>,
}

impl TurnEnd {
    pub(crate) fn new(stop: TurnStopReason) -> Self {
        let status = match stop {
            TurnStopReason::EndTurn
            | TurnStopReason::MaxTokens
            | TurnStopReason::MaxTurns
            | TurnStopReason::Refusal => SessionStatus::Idle,
            TurnStopReason::Cancelled => SessionStatus::Cancelled,
            TurnStopReason::Interrupted => SessionStatus::Interrupted,
            TurnStopReason::Error => SessionStatus::Failed,
        };
        let reason = match stop {
            TurnStopReason::EndTurn => None,
            TurnStopReason::MaxTokens => {
                Some("the model reached its output token limit".to_owned())
            }
            TurnStopReason::MaxTurns => {
                Some("the turn reached its limit of model requests".to_owned())
            }
            TurnStopReason::Refusal => Some("the model refused".to_owned()),
            TurnStopReason::Cancelled => Some("cancelled by request".to_owned()),
            TurnStopReason::Interrupted => {
                Some("the server shut down while this turn was running".to_owned())
            }
            TurnStopReason::Error => None,
        };
        Self {
            stop,
            status,
            reason,
        }
    }
}

/// The state one turn works on.
pub(crate) struct Turn {
    pub(crate) host: Arc<dyn SessionHost>,
    pub(crate) kit: Arc<RunnerKit>,
    pub(crate) runner: Arc<RunnerSession>,
    pub(crate) id: SessionId,
    pub(crate) record: SessionRecord,
    pub(crate) number: u32,
    pub(crate) cancel: CancellationToken,
    pub(crate) usage: Usage,
    /// Tool calls refused in this turn (by rules, a person or the clock).
    pub(crate) denied: u32,
    /// The model's last words in the turn (a task's summary).
    pub(crate) final_text: Option<String>,
    /// The session's MCP tools for this turn (builtin runtime).
    pub(crate) mcp_tools: Vec<Arc<dyn agentd_tools::Tool>>,
}

/// Runs one turn for `input`; returns the status the turn ended with.
pub(crate) async fn run_turn(
    host: Arc<dyn SessionHost>,
    kit: Arc<RunnerKit>,
    runner: Arc<RunnerSession>,
    input: InputRecord,
    cancel: CancellationToken,
) -> Option<SessionStatus> {
    let id = input.session_id;
    let record = match host.record().await {
        Ok(record) => record,
        Err(e) => {
            tracing::error!(%id, error = %e, "cannot load session for its turn");
            return None;
        }
    };
    runner.set_turn_cancel(Some(cancel.clone())).await;
    let mut turn = Turn {
        host,
        kit,
        runner: runner.clone(),
        id,
        number: record.turns + 1,
        record,
        cancel,
        usage: Usage::default(),
        denied: 0,
        final_text: None,
        mcp_tools: Vec::new(),
    };
    let end = match turn.run(input).await {
        Ok(end) => end,
        Err(e) => {
            tracing::error!(%id, error = %e, "turn aborted by a storage error");
            turn.emit(EventData::Error(ErrorEvent {
                code: ErrorCode::Unavailable,
                message: "the turn stopped because the server could not save its progress".into(),
                retryable: true,
            }))
            .await;
            TurnEnd {
                stop: TurnStopReason::Error,
                status: SessionStatus::Failed,
                reason: Some("storage error".into()),
            }
        }
    };
    // What the turn itself came to (before a waiting input makes the
    // session `queued`): the runner keeps its MCP servers while `idle`.
    let status = end.status;
    turn.finish(end).await;
    runner.set_turn_cancel(None).await;
    Some(status)
}

impl Turn {
    async fn run(&mut self, input: InputRecord) -> Result<TurnEnd, CoreError> {
        self.start(&input).await?;
        let prompt = match self.prompt_hooks(&input.text).await {
            Ok(context) => context,
            Err(end) => {
                // The prompt went into the transcript with the turn's start;
                // a blocked prompt must never reach the model.
                self.host.withdraw_transcript(self.number).await?;
                return Ok(end);
            }
        };
        let mut text = input.text.clone();
        // Hook context goes with the prompt, as Claude Code adds it (the
        // conversation merges this message into the prompt's).
        let context: Vec<ContentBlock> = prompt
            .into_iter()
            .map(|context| {
                text.push_str("\n\n");
                text.push_str(&context);
                ContentBlock::Text { text: context }
            })
            .collect();
        if !context.is_empty() {
            self.append_transcript(Role::User, &context).await?;
        }
        if let Some(end) = self.hold().await? {
            return Ok(end);
        }
        match self.record.runtime {
            Runtime::Builtin => builtin::run(self).await,
            Runtime::ClaudeCode => crate::claude::run(self, &text).await,
        }
    }

    /// Take the input and start the turn in one transaction: the input is
    /// marked consumed, its text is the turn's user message, `turn.started`
    /// is logged and the session is `running`, or (after a crash) none of it
    /// happened and recovery runs the input again.
    async fn start(&mut self, input: &InputRecord) -> Result<(), CoreError> {
        let now = now_ms();
        let user = vec![ContentBlock::Text {
            text: input.text.clone(),
        }];
        let writes = BatchWrites {
            consumed: vec![(input.id.clone(), now)],
            transcript: vec![TranscriptWrite {
                session_id: self.id,
                turn: self.number,
                role: "user",
                content: serde_json::to_value(&user).unwrap_or_default(),
            }],
            ..BatchWrites::default()
        };
        self.record.turns = self.number;
        let started = EventData::TurnStarted(TurnStarted {
            turn: self.number,
            input: input.text.clone(),
        });
        let change = StatusCommit {
            after: vec![started],
            writes,
            ..StatusCommit::to(SessionStatus::Running, None)
        };
        self.host.commit_status(&mut self.record, change).await
    }

    /// `SessionStart` (the first turn this process runs for the session)
    /// and `UserPromptSubmit`: the context they add for the model, or how
    /// the turn ends when a hook blocks the prompt (which the model then
    /// never sees).
    async fn prompt_hooks(&self, prompt: &str) -> Result<Vec<String>, TurnEnd> {
        let Some(hooks) = SessionHooks::load(&*self.host, &self.kit, &self.record).await else {
            return Ok(Vec::new());
        };
        let mut context = Vec::new();
        if self.runner.first_start() {
            let source = if self.number == 1 {
                "startup"
            } else {
                "resume"
            };
            let input = HookInput::SessionStart {
                source: source.to_owned(),
                model: Some(self.record.model.clone()),
            };
            context.extend(hooks.run(&*self.host, input, None).await.additional_context);
        }
        let input = HookInput::UserPromptSubmit {
            prompt: prompt.to_owned(),
        };
        let said = hooks.run(&*self.host, input, None).await;
        let blocked = said
            .blocked
            .or(said.halted.then(|| said.stop_reason.unwrap_or_default()));
        if let Some(reason) = blocked {
            return Err(TurnEnd {
                stop: TurnStopReason::EndTurn,
                status: SessionStatus::Idle,
                reason: Some(format!(
                    "a UserPromptSubmit hook blocked the prompt: {reason}"
                )),
            });
        }
        context.extend(said.additional_context);
        Ok(context)
    }

    pub(crate) fn cancelled_end(&self) -> TurnEnd {
        if self.host.shutting_down() {
            TurnEnd::new(TurnStopReason::Interrupted)
        } else {
            TurnEnd::new(TurnStopReason::Cancelled)
        }
    }

    /// Count one model call's usage into the turn and the session.
    pub(crate) async fn account(&mut self, call: Usage) -> Result<(), CoreError> {
        self.usage.add(&call);
        self.record.usage.add(&call);
        self.record.updated_at = now_ms();
        self.host.record_usage(&self.record, &call).await;
        self.host.save(&self.record).await?;
        self.emit(EventData::Usage(UsageReport {
            call,
            totals: self.record.usage,
        }))
        .await;
        Ok(())
    }

    pub(crate) async fn append_transcript(
        &self,
        role: Role,
        content: &[ContentBlock],
    ) -> Result<(), CoreError> {
        let role = match role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        self.host
            .append_transcript(self.number, role, content)
            .await
    }

    /// The owner's key for the provider of the session's model; `None`
    /// means the server's.
    pub(crate) async fn owner_key(&self) -> Option<agentd_llm::ApiKey> {
        let provider = if self.record.model.starts_with("openai:") {
            agentd_protocol::CredentialProvider::Openai
        } else {
            agentd_protocol::CredentialProvider::Anthropic
        };
        self.host
            .owner_secret(&self.record, provider)
            .await
            .map(|s| agentd_llm::ApiKey::new(s.expose()))
    }

    /// Waits while the session is paused or over a budget; `Some(end)`
    /// when the turn was cancelled meanwhile.
    pub(crate) async fn hold(&mut self) -> Result<Option<TurnEnd>, CoreError> {
        if self.host.hold(&mut self.record, &self.cancel).await? {
            Ok(None)
        } else {
            Ok(Some(self.cancelled_end()))
        }
    }

    /// Close the turn: event, status, and steers that never found a tool
    /// boundary become the next message. `turn.completed` and the status
    /// commit together, so a finished turn is never taken for a running one
    /// after a crash; with more input waiting the session is `queued`, never
    /// `idle`.
    async fn finish(&mut self, mut end: TurnEnd) {
        if self.denied > 0 && end.reason.is_none() {
            end.reason = Some(format!("{} tool call(s) were denied", self.denied));
        }
        checkpoint::checkpoint(self).await;
        task::finish(self, &mut end).await;
        let completed = EventData::TurnCompleted(TurnCompleted {
            turn: self.number,
            stop_reason: end.stop,
            usage: self.usage,
            denied: self.denied,
        });
        let change = StatusCommit {
            before: vec![completed],
            ..StatusCommit::to(end.status, end.reason)
        };
        if let Err(e) = self.host.end_turn(&mut self.record, change).await {
            tracing::error!(id = %self.id, error = %e, "cannot record the end of a turn");
        }
    }

    pub(crate) async fn emit(&self, event: EventData) {
        self.host.emit(event).await;
    }
}
