//! A scripted [`Turn`] with everything it left open decided (ids, model,
//! stop reason, usage): what both model fakes render, each in its API's
//! shape.

use serde_json::Value;

use crate::script::{ScriptBlock, ScriptUsage, Turn};

/// A turn with ids, model, stop reason and usage decided.
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    pub id: String,
    pub model: String,
    pub blocks: Vec<Block>,
    pub stop_reason: String,
    pub usage: ScriptUsage,
}

#[derive(Clone, Debug)]
pub(crate) enum Block {
    Text(String),
    Thinking {
        thinking: String,
        signature: String,
    },
    RedactedThinking(String),
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    Raw(Value),
}

impl Block {
    /// The block's size in characters, for the output token estimate.
    fn chars(&self) -> usize {
        match self {
            Self::Text(text) => text.chars().count(),
            Self::Thinking { thinking, .. } => thinking.chars().count(),
            Self::RedactedThinking(data) => data.len(),
            Self::ToolUse { input, .. } => input.to_string().len(),
            Self::Raw(block) => block.to_string().len(),
        }
    }
}

/// Decides everything the script left open. `next_tool_id` hands out the
/// fake's deterministic tool ids.
pub(crate) fn resolve(
    turn: &Turn,
    message_id: String,
    request_model: Option<&str>,
    input_estimate: u64,
    mut next_tool_id: impl FnMut() -> String,
) -> Resolved {
    let blocks: Vec<Block> = turn
        .blocks
        .iter()
        .map(|block| match block {
            ScriptBlock::Text { text } => Block::Text(text.clone()),
            ScriptBlock::Thinking {
                thinking,
                signature,
            } => Block::Thinking {
                thinking: thinking.clone(),
                signature: signature.clone(),
            },
            ScriptBlock::RedactedThinking { data } => Block::RedactedThinking(data.clone()),
            ScriptBlock::ToolUse { name, input, id } => Block::ToolUse {
                id: id.clone().unwrap_or_else(&mut next_tool_id),
                name: name.clone(),
                input: input.clone(),
            },
            ScriptBlock::Raw { block } => Block::Raw(block.clone()),
        })
        .collect();
    let output_estimate = blocks.iter().map(Block::chars).sum::<usize>() as u64 / 4 + 1;
    let default_stop = if turn.has_tool_use() {
        "tool_use"
    } else {
        "end_turn"
    };
    Resolved {
        id: message_id,
        model: turn
            .model
            .clone()
            .or(request_model.map(str::to_owned))
            .unwrap_or_else(|| "claude-testkit".into()),
        blocks,
        stop_reason: turn
            .stop_reason
            .clone()
            .unwrap_or_else(|| default_stop.into()),
        usage: turn.usage.unwrap_or(ScriptUsage {
            input_tokens: input_estimate,
            output_tokens: output_estimate,
            ..ScriptUsage::default()
        }),
    }
}
