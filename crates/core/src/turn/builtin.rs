//! The builtin runtime: agentd's own loop over the model API.
//! sample → dispatch tools → sample … until the model ends its turn, a limit
//! hits, or the turn is cancelled or fails.

use agentd_llm::{ContentBlock, Message, ModelRequest, Role, StopReason, ToolDefinition};
use agentd_protocol::event::{ErrorEvent, MessageCompleted, Role as EventRole};
use agentd_protocol::ids::prefixed_id;
use agentd_protocol::{EventData, SessionStatus, TurnStopReason};
use agentd_store::{BatchWrites, InputRecord, TranscriptWrite};

use crate::turn::conversation;
use crate::turn::dispatch::{self, ToolCall};
use agentd_policy::HookInput;

use crate::error::CoreError;
use crate::event_log::now_ms;
use crate::turn::hooks::SessionHooks;
use crate::turn::sample::{self, SampleOutcome};
use crate::turn::{Turn, TurnEnd};

pub(crate) async fn run(turn: &mut Turn) -> Result<TurnEnd, CoreError> {
    let mut messages = conversation::from_transcript(&turn.host.transcript().await?);
    let api_key = turn.owner_key().await;
    turn.mcp_tools = crate::turn::mcp::tools_for_turn(turn).await;
    let max_requests = turn.record.max_turns.unwrap_or(turn.kit.max_turns);
    let mut stop_hook_active = false;
    for request_number in 0..max_requests {
        // The turn checked before its first call; later calls check here.
        if request_number > 0
            && let Some(end) = turn.hold().await?
        {
            return Ok(end);
        }
        let message = match sample::sample(turn, &request(turn, &messages, api_key.clone())).await {
            SampleOutcome::Done(message) => message,
            SampleOutcome::Cancelled => return Ok(turn.cancelled_end()),
            SampleOutcome::Failed(e) => {
                turn.emit(EventData::Error(ErrorEvent {
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
        let call = agentd_llm::profile_for(&turn.record.model)
            .pricing
            .usage(&message.usage);
        turn.account(call).await?;
        turn.append_transcript(Role::Assistant, &message.content)
            .await?;
        let text: String = message
            .content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        if !text.trim().is_empty() {
            turn.final_text = Some(text);
        }
        messages.push(Message {
            role: Role::Assistant,
            content: message.content.clone(),
        });
        match message.stop_reason {
            StopReason::ToolUse => {}
            StopReason::PauseTurn => continue,
            StopReason::EndTurn | StopReason::StopSequence | StopReason::Other(_) => {
                match stop_hooks(turn, &mut stop_hook_active).await? {
                    Some(reply) => {
                        messages.push(reply);
                        continue;
                    }
                    None => return Ok(TurnEnd::new(TurnStopReason::EndTurn)),
                }
            }
            StopReason::MaxTokens | StopReason::ModelContextWindowExceeded => {
                return Ok(TurnEnd::new(TurnStopReason::MaxTokens));
            }
            StopReason::Refusal => return Ok(TurnEnd::new(TurnStopReason::Refusal)),
        }
        let calls = ToolCall::all_in(&message.content);
        if calls.is_empty() {
            return Ok(TurnEnd::new(TurnStopReason::EndTurn));
        }
        let outcome = dispatch::dispatch_tools(turn, calls).await;
        let steers = if outcome.cancelled {
            Vec::new()
        } else {
            turn.host.take_steers().await
        };
        let reply = reply_with_steers(turn, outcome.results, steers).await?;
        messages.push(Message {
            role: Role::User,
            content: reply,
        });
        if outcome.cancelled {
            return Ok(turn.cancelled_end());
        }
        if let Some(reason) = outcome.halted {
            return Ok(TurnEnd {
                reason: Some(format!("a PostToolUse hook stopped the agent: {reason}")),
                ..TurnEnd::new(TurnStopReason::EndTurn)
            });
        }
    }
    Ok(TurnEnd::new(TurnStopReason::MaxTurns))
}

fn request(turn: &Turn, messages: &[Message], api_key: Option<agentd_llm::ApiKey>) -> ModelRequest {
    ModelRequest {
        model: turn.record.model.clone(),
        system: Some(format!(
            "{}\n\nWorkspace root: {}",
            turn.kit.system_prompt, turn.record.workspace_path
        )),
        messages: messages.to_vec(),
        tools: turn
            .kit
            .tools
            .specs()
            .into_iter()
            .chain(turn.mcp_tools.iter().map(|t| t.spec()))
            .map(|s| ToolDefinition {
                name: s.name,
                description: s.description,
                input_schema: s.input_schema,
            })
            .collect(),
        max_tokens: None,
        metadata_user_id: None,
        api_key,
    }
}

/// `Stop`: the model wants to end its turn; a hook that blocks makes it go
/// on, its reason given to the model as the next user message.
async fn stop_hooks(turn: &Turn, active: &mut bool) -> Result<Option<Message>, CoreError> {
    let Some(hooks) = SessionHooks::load(&*turn.host, &turn.kit, &turn.record).await else {
        return Ok(None);
    };
    let input = HookInput::Stop {
        stop_hook_active: *active,
    };
    let said = hooks.run(&*turn.host, input, None).await;
    let Some(reason) = said.blocked.filter(|_| !said.halted) else {
        return Ok(None);
    };
    *active = true;
    let block = ContentBlock::Text {
        text: format!("Stop hook feedback:\n{reason}"),
    };
    turn.append_transcript(Role::User, std::slice::from_ref(&block))
        .await?;
    turn.emit(EventData::MessageCompleted(MessageCompleted {
        message_id: prefixed_id("msg"),
        role: EventRole::User,
        content: vec![serde_json::to_value(&block).unwrap_or_default()],
    }))
    .await;
    Ok(Some(Message {
        role: Role::User,
        content: vec![block],
    }))
}

/// The tool results, then the steers that arrived while tools ran (as
/// text), written as the next user message. Taking the steers, their events
/// and the message commit together: a crash either keeps them all or leaves
/// the steers untaken, to run after the restart.
async fn reply_with_steers(
    turn: &Turn,
    mut reply: Vec<ContentBlock>,
    steers: Vec<InputRecord>,
) -> Result<Vec<ContentBlock>, CoreError> {
    if steers.is_empty() {
        turn.append_transcript(Role::User, &reply).await?;
        return Ok(reply);
    }
    let now = now_ms();
    let mut events = Vec::with_capacity(steers.len());
    let mut consumed = Vec::with_capacity(steers.len());
    for steer in steers {
        let block = ContentBlock::Text { text: steer.text };
        events.push(EventData::MessageCompleted(MessageCompleted {
            message_id: prefixed_id("msg"),
            role: EventRole::User,
            content: vec![serde_json::to_value(&block).unwrap_or_default()],
        }));
        consumed.push((steer.id, now));
        reply.push(block);
    }
    let writes = BatchWrites {
        consumed,
        transcript: vec![TranscriptWrite {
            session_id: turn.id,
            turn: turn.number,
            role: "user",
            content: serde_json::to_value(&reply).unwrap_or_default(),
        }],
        ..BatchWrites::default()
    };
    turn.host.commit(events, writes).await?;
    Ok(reply)
}
