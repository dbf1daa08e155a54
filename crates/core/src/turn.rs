//! One turn: the user's input, then sample → dispatch tools → sample … until
//! the model ends its turn, a limit hits, the turn is cancelled or fails.

use std::sync::Arc;

use agentd_llm::{
    AssistantMessage, ContentBlock, Message, ModelRequest, Role, StopReason, ToolDefinition,
};
use agentd_protocol::event::{
    ErrorEvent, MessageCompleted, Role as EventRole, TurnCompleted, TurnStarted, UsageReport,
};
use agentd_protocol::ids::prefixed_id;
use agentd_protocol::{ErrorCode, EventData, SessionId, SessionStatus, TurnStopReason, Usage};
use agentd_store::{InputRecord, SessionRecord};
use tokio_util::sync::CancellationToken;

use crate::conversation;
use crate::dispatch::{self, ToolCall};
use crate::error::CoreError;
use crate::log::now_ms;
use crate::manager::{Live, SessionManager};
use crate::sample::{self, SampleOutcome};

/// How a turn ended, with what the session's status becomes.
struct TurnEnd {
    stop: TurnStopReason,
    status: SessionStatus,
    reason: Option<String>,
}

impl TurnEnd {
    fn new(stop: TurnStopReason) -> Self {
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
pub(crate) struct Turn<'a> {
    pub(crate) manager: &'a SessionManager,
    pub(crate) live: &'a Arc<Live>,
    pub(crate) id: SessionId,
    pub(crate) record: SessionRecord,
    pub(crate) number: u32,
    pub(crate) cancel: CancellationToken,
    pub(crate) usage: Usage,
    messages: Vec<Message>,
}

pub(crate) async fn run_turn(
    manager: &SessionManager,
    live: &Arc<Live>,
    id: SessionId,
    input: InputRecord,
    cancel: CancellationToken,
) {
    let record = match manager.record(id).await {
        Ok(record) => record,
        Err(e) => {
            tracing::error!(%id, error = %e, "cannot load session for its turn");
            return;
        }
    };
    let mut turn = Turn {
        manager,
        live,
        id,
        number: record.turns + 1,
        record,
        cancel,
        usage: Usage::default(),
        messages: Vec::new(),
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
    turn.finish(end).await;
}

impl Turn<'_> {
    async fn run(&mut self, input: InputRecord) -> Result<TurnEnd, CoreError> {
        let store = &self.manager.inner.store;
        store.consume_input(&input.id, now_ms()).await?;
        self.record.turns = self.number;
        self.set_status(SessionStatus::Running, None).await?;
        self.emit(EventData::TurnStarted(TurnStarted {
            turn: self.number,
            input: input.text.clone(),
        }))
        .await;
        let user = vec![ContentBlock::Text { text: input.text }];
        self.append_transcript(Role::User, &user).await?;
        self.messages = conversation::from_transcript(&store.load_transcript(self.id).await?);

        let max_requests = self
            .record
            .max_turns
            .unwrap_or(self.manager.inner.config.max_turns);
        for _ in 0..max_requests {
            let message = match sample::sample(self, &self.request()).await {
                SampleOutcome::Done(message) => message,
                SampleOutcome::Cancelled => return Ok(self.cancelled_end()),
                SampleOutcome::Failed(e) => {
                    self.emit(EventData::Error(ErrorEvent {
                        code: e.code(),
                        message: e.to_string(),
                        retryable: e.is_retryable(),
                    }))
                    .await;
                    return Ok(TurnEnd {
                        stop: TurnStopReason::Error,
                        status: SessionStatus::Failed,
                        reason: Some(e.to_string()),
                    });
                }
            };
            self.account(&message).await?;
            self.append_transcript(Role::Assistant, &message.content)
                .await?;
            self.messages.push(Message {
                role: Role::Assistant,
                content: message.content.clone(),
            });
            match message.stop_reason {
                StopReason::ToolUse => {}
                StopReason::PauseTurn => continue,
                StopReason::EndTurn | StopReason::StopSequence => {
                    return Ok(TurnEnd::new(TurnStopReason::EndTurn));
                }
                StopReason::MaxTokens | StopReason::ModelContextWindowExceeded => {
                    return Ok(TurnEnd::new(TurnStopReason::MaxTokens));
                }
                StopReason::Refusal => return Ok(TurnEnd::new(TurnStopReason::Refusal)),
                StopReason::Other(_) => return Ok(TurnEnd::new(TurnStopReason::EndTurn)),
            }
            let calls = ToolCall::all_in(&message.content);
            if calls.is_empty() {
                return Ok(TurnEnd::new(TurnStopReason::EndTurn));
            }
            let outcome = dispatch::dispatch_tools(self, calls).await;
            let mut reply = outcome.results;
            if !outcome.cancelled {
                reply.extend(self.take_steers().await?);
            }
            self.append_transcript(Role::User, &reply).await?;
            self.messages.push(Message {
                role: Role::User,
                content: reply,
            });
            if outcome.cancelled {
                return Ok(self.cancelled_end());
            }
        }
        Ok(TurnEnd::new(TurnStopReason::MaxTurns))
    }

    fn cancelled_end(&self) -> TurnEnd {
        if self.manager.inner.shutdown.is_cancelled() {
            TurnEnd::new(TurnStopReason::Interrupted)
        } else {
            TurnEnd::new(TurnStopReason::Cancelled)
        }
    }

    fn request(&self) -> ModelRequest {
        let config = &self.manager.inner.config;
        ModelRequest {
            model: self.record.model.clone(),
            system: Some(format!(
                "{}\n\nWorkspace root: {}",
                config.system_prompt, self.record.workspace_path
            )),
            messages: self.messages.clone(),
            tools: self
                .manager
                .inner
                .tools
                .specs()
                .into_iter()
                .map(|s| ToolDefinition {
                    name: s.name,
                    description: s.description,
                    input_schema: s.input_schema,
                })
                .collect(),
            max_tokens: None,
            metadata_user_id: None,
        }
    }

    /// Count a model call's usage into the turn and the session.
    async fn account(&mut self, message: &AssistantMessage) -> Result<(), CoreError> {
        let call = agentd_llm::profile_for(&self.record.model)
            .pricing
            .usage(&message.usage);
        self.usage.add(&call);
        self.record.usage.add(&call);
        self.record.updated_at = now_ms();
        self.manager
            .inner
            .store
            .update_session(&self.record)
            .await?;
        self.emit(EventData::Usage(UsageReport {
            call,
            totals: self.record.usage,
        }))
        .await;
        Ok(())
    }

    /// Steers that arrived while tools ran, as text after the tool results.
    async fn take_steers(&mut self) -> Result<Vec<ContentBlock>, CoreError> {
        let steers = std::mem::take(&mut self.live.state.lock().await.steers);
        let mut blocks = Vec::with_capacity(steers.len());
        for steer in steers {
            self.manager
                .inner
                .store
                .consume_input(&steer.id, now_ms())
                .await?;
            let block = ContentBlock::Text { text: steer.text };
            self.emit(EventData::MessageCompleted(MessageCompleted {
                message_id: prefixed_id("msg"),
                role: EventRole::User,
                content: vec![serde_json::to_value(&block).unwrap_or_default()],
            }))
            .await;
            blocks.push(block);
        }
        Ok(blocks)
    }

    async fn append_transcript(
        &self,
        role: Role,
        content: &[ContentBlock],
    ) -> Result<(), CoreError> {
        let role = match role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        let content = serde_json::to_value(content).unwrap_or_default();
        self.manager
            .inner
            .store
            .append_transcript(self.id, self.number, &[(role.to_owned(), content)])
            .await?;
        Ok(())
    }

    async fn set_status(
        &mut self,
        status: SessionStatus,
        reason: Option<String>,
    ) -> Result<(), CoreError> {
        crate::status::change_status(&self.manager.inner, &mut self.record, status, reason).await
    }

    /// Close the turn: event, status, and steers that never found a tool
    /// boundary become the next message.
    async fn finish(&mut self, end: TurnEnd) {
        self.emit(EventData::TurnCompleted(TurnCompleted {
            turn: self.number,
            stop_reason: end.stop,
            usage: self.usage,
        }))
        .await;
        {
            let mut state = self.live.state.lock().await;
            let steers = std::mem::take(&mut state.steers);
            for steer in steers.into_iter().rev() {
                state.queue.push_front(steer);
            }
        }
        if let Err(e) = self.set_status(end.status, end.reason).await {
            tracing::error!(id = %self.id, error = %e, "cannot record the end of a turn");
        }
    }

    pub(crate) async fn emit(&self, event: EventData) {
        self.manager.inner.log.append(self.id, event).await;
    }
}
