//! The model conversation of a session, rebuilt from the stored transcript.
//!
//! The transcript is written as a turn runs (user input, each assistant
//! message, each batch of tool results). A crash can leave it in a shape the
//! API rejects: two user messages in a row, or tool calls with no results.
//! `normalize` repairs both so the next turn can continue.

use std::collections::HashSet;

use agentd_llm::{ContentBlock, Message, Role};
use agentd_store::TranscriptEntry;

/// What the model is told when a tool call never produced a result.
pub(crate) const LOST_RESULT: &str =
    "interrupted: the server stopped before this tool call finished; its effects are unknown";

pub(crate) fn from_transcript(entries: &[TranscriptEntry]) -> Vec<Message> {
    let messages = entries
        .iter()
        .filter_map(|entry| {
            let role = match entry.role.as_str() {
                "user" => Role::User,
                "assistant" => Role::Assistant,
                other => {
                    tracing::warn!(role = other, "skipping transcript entry with unknown role");
                    return None;
                }
            };
            match serde_json::from_value::<Vec<ContentBlock>>(entry.content.clone()) {
                Ok(content) => Some(Message { role, content }),
                Err(e) => {
                    tracing::warn!(error = %e, seq = entry.seq, "skipping unreadable transcript entry");
                    None
                }
            }
        })
        .collect();
    normalize(messages)
}

/// Merge same-role neighbours, give every tool call a result, and put tool
/// results first in their user message (the API requires both).
pub(crate) fn normalize(messages: Vec<Message>) -> Vec<Message> {
    let mut merged: Vec<Message> = Vec::with_capacity(messages.len());
    for message in messages {
        if message.content.is_empty() {
            continue;
        }
        match merged.last_mut() {
            Some(last) if last.role == message.role => last.content.extend(message.content),
            _ => merged.push(message),
        }
    }
    let mut out: Vec<Message> = Vec::with_capacity(merged.len() + 1);
    let mut iter = merged.into_iter().peekable();
    while let Some(message) = iter.next() {
        let calls: Vec<String> = tool_use_ids(&message);
        let is_assistant = message.role == Role::Assistant;
        out.push(message);
        if !is_assistant || calls.is_empty() {
            continue;
        }
        let mut reply = match iter.peek() {
            Some(next) if next.role == Role::User => {
                iter.next().map(|m| m.content).unwrap_or_default()
            }
            _ => Vec::new(),
        };
        let answered: HashSet<String> = reply
            .iter()
            .filter_map(|b| match b {
                ContentBlock::ToolResult { tool_use_id, .. } => Some(tool_use_id.clone()),
                _ => None,
            })
            .collect();
        for id in calls.into_iter().filter(|id| !answered.contains(id)) {
            reply.push(ContentBlock::ToolResult {
                tool_use_id: id,
                content: LOST_RESULT.to_owned(),
                is_error: true,
            });
        }
        // Stable partition: results first, then any text the user added.
        let (mut results, rest): (Vec<_>, Vec<_>) = reply
            .into_iter()
            .partition(|b| matches!(b, ContentBlock::ToolResult { .. }));
        results.extend(rest);
        out.push(Message {
            role: Role::User,
            content: results,
        });
    }
    out
}

fn tool_use_ids(message: &Message) -> Vec<String> {
    message
        .content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::ToolUse { id, .. } => Some(id.clone()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn text(role: Role, t: &str) -> Message {
        Message {
            role,
            content: vec![ContentBlock::Text { text: t.into() }],
        }
    }

    #[test]
    fn adjacent_user_messages_are_merged() {
        let out = normalize(vec![text(Role::User, "a"), text(Role::User, "b")]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].content.len(), 2);
    }

    #[test]
    fn unanswered_tool_calls_get_an_error_result_first() {
        let call = Message {
            role: Role::Assistant,
            content: vec![ContentBlock::ToolUse {
                id: "toolu_1".into(),
                name: "bash".into(),
                input: json!({"command": "ls"}),
            }],
        };
        let out = normalize(vec![text(Role::User, "go"), call, text(Role::User, "next")]);
        assert_eq!(out.len(), 3);
        assert_eq!(
            out[2].content,
            vec![
                ContentBlock::ToolResult {
                    tool_use_id: "toolu_1".into(),
                    content: LOST_RESULT.into(),
                    is_error: true
                },
                ContentBlock::Text {
                    text: "next".into()
                },
            ]
        );
    }

    #[test]
    fn a_trailing_tool_call_is_answered() {
        let call = Message {
            role: Role::Assistant,
            content: vec![ContentBlock::ToolUse {
                id: "toolu_9".into(),
                name: "bash".into(),
                input: json!({}),
            }],
        };
        let out = normalize(vec![text(Role::User, "go"), call]);
        assert_eq!(out.len(), 3);
        assert_eq!(out[2].role, Role::User);
    }
}
