//! Builds the JSON body of a Messages request: a pure function of the request
//! and the model profile, so its shape is unit-tested without a server.

use serde::Serialize;
use serde_json::Value;

use crate::messages::{ContentBlock, Message, ModelRequest, Role, ToolDefinition};
use crate::profile::{ModelProfile, ThinkingMode};

/// The API's limit on `cache_control` markers per request.
pub const MAX_CACHE_BREAKPOINTS: usize = 4;

/// The smallest thinking budget the API accepts.
const MIN_THINKING_BUDGET: u32 = 1024;

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<[SystemBlock<'a>; 1]>,
    messages: Vec<MessageParam<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<ToolParam<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking: Option<ThinkingParam>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Metadata<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<bool>,
}

#[derive(Clone, Copy, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum CacheControl {
    Ephemeral,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum SystemBlock<'a> {
    Text {
        text: &'a str,
        cache_control: CacheControl,
    },
}

#[derive(Serialize)]
struct ToolParam<'a> {
    #[serde(flatten)]
    tool: &'a ToolDefinition,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<CacheControl>,
}

#[derive(Serialize)]
struct MessageParam<'a> {
    role: Role,
    content: Vec<BlockParam<'a>>,
}

#[derive(Serialize)]
struct BlockParam<'a> {
    #[serde(flatten)]
    block: &'a ContentBlock,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<CacheControl>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ThinkingParam {
    Adaptive,
    Enabled { budget_tokens: u32 },
    Disabled,
}

#[derive(Serialize)]
struct Metadata<'a> {
    user_id: &'a str,
}

/// The body for `POST /v1/messages`.
///
/// Prompt caching uses at most three breakpoints (tools, system, and a moving
/// one on the conversation's last cacheable block), always within the API's
/// limit of [`MAX_CACHE_BREAKPOINTS`].
pub fn build_body(req: &ModelRequest, profile: &ModelProfile, stream: bool) -> Value {
    let max_tokens = req.max_tokens.unwrap_or(profile.default_max_tokens);
    let body = Body {
        max_tokens: Some(max_tokens),
        thinking: thinking_param(profile.thinking, max_tokens),
        metadata: req
            .metadata_user_id
            .as_deref()
            .map(|user_id| Metadata { user_id }),
        stream: Some(stream),
        ..common(req)
    };
    to_value(&body)
}

/// The body for `POST /v1/messages/count_tokens`: the same prefix, without
/// `max_tokens`, `stream` and `metadata` (PROTOCOLS §1.7).
pub fn build_count_tokens_body(req: &ModelRequest, profile: &ModelProfile) -> Value {
    let max_tokens = req.max_tokens.unwrap_or(profile.default_max_tokens);
    let body = Body {
        thinking: thinking_param(profile.thinking, max_tokens),
        ..common(req)
    };
    to_value(&body)
}

fn common(req: &ModelRequest) -> Body<'_> {
    let last_tool = req.tools.len().checked_sub(1);
    Body {
        model: &req.model,
        max_tokens: None,
        system: req
            .system
            .as_deref()
            .filter(|text| !text.is_empty())
            .map(|text| {
                [SystemBlock::Text {
                    text,
                    cache_control: CacheControl::Ephemeral,
                }]
            }),
        messages: messages(&req.messages),
        tools: req
            .tools
            .iter()
            .enumerate()
            .map(|(i, tool)| ToolParam {
                tool,
                cache_control: (Some(i) == last_tool).then_some(CacheControl::Ephemeral),
            })
            .collect(),
        thinking: None,
        metadata: None,
        stream: None,
    }
}

fn messages(messages: &[Message]) -> Vec<MessageParam<'_>> {
    let breakpoint = moving_breakpoint(messages);
    messages
        .iter()
        .enumerate()
        .map(|(m, message)| MessageParam {
            role: message.role,
            content: message
                .content
                .iter()
                .enumerate()
                .map(|(b, block)| BlockParam {
                    block,
                    cache_control: (Some((m, b)) == breakpoint).then_some(CacheControl::Ephemeral),
                })
                .collect(),
        })
        .collect()
}

/// The last block of the last message, unless the API refuses a marker there
/// (thinking blocks, empty text); then the closest earlier block of it.
fn moving_breakpoint(messages: &[Message]) -> Option<(usize, usize)> {
    let m = messages.len().checked_sub(1)?;
    let b = messages[m]
        .content
        .iter()
        .rposition(accepts_cache_control)?;
    Some((m, b))
}

fn accepts_cache_control(block: &ContentBlock) -> bool {
    match block {
        ContentBlock::Text { text } => !text.is_empty(),
        ContentBlock::Thinking { .. } | ContentBlock::RedactedThinking { .. } => false,
        ContentBlock::ToolUse { .. }
        | ContentBlock::ToolResult { .. }
        | ContentBlock::Unknown(_) => true,
    }
}

fn thinking_param(mode: ThinkingMode, max_tokens: u32) -> Option<ThinkingParam> {
    match mode {
        ThinkingMode::Adaptive => Some(ThinkingParam::Adaptive),
        ThinkingMode::Disabled => Some(ThinkingParam::Disabled),
        ThinkingMode::Omit => None,
        // The budget must be >= 1024 and < max_tokens; if that is impossible
        // the request goes without thinking rather than failing with a 400.
        ThinkingMode::Enabled { budget_tokens } => {
            let budget = budget_tokens
                .max(MIN_THINKING_BUDGET)
                .min(max_tokens.saturating_sub(1));
            (budget >= MIN_THINKING_BUDGET).then_some(ThinkingParam::Enabled {
                budget_tokens: budget,
            })
        }
    }
}

fn to_value(body: &Body<'_>) -> Value {
    // Serializing plain structs, strings and `Value`s into a `Value` cannot fail;
    // Null would only show up as a 400 from the API, never as a panic here.
    serde_json::to_value(body).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::profile_for;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn request() -> ModelRequest {
        ModelRequest {
            model: "claude-sonnet-4-5".into(),
            system: Some("be brief".into()),
            messages: vec![
                Message::user_text("list files"),
                Message::assistant(vec![
                    ContentBlock::Thinking {
                        thinking: "hmm".into(),
                        signature: "sig".into(),
                    },
                    ContentBlock::ToolUse {
                        id: "t1".into(),
                        name: "bash".into(),
                        input: json!({"command": "ls"}),
                    },
                ]),
                Message::user(vec![ContentBlock::tool_result("t1", "a.txt", false)]),
            ],
            tools: vec![
                ToolDefinition {
                    name: "bash".into(),
                    description: "run".into(),
                    input_schema: json!({"type": "object"}),
                },
                ToolDefinition {
                    name: "read".into(),
                    description: "read".into(),
                    input_schema: json!({"type": "object"}),
                },
            ],
            max_tokens: Some(16_000),
            metadata_user_id: Some("u-1".into()),
            api_key: None,
        }
    }

    #[test]
    fn body_has_the_wire_shape_with_three_breakpoints() {
        let req = request();
        let body = build_body(&req, &profile_for(&req.model), true);
        let eph = json!({"type": "ephemeral"});
        assert_eq!(
            body,
            json!({
                "model": "claude-sonnet-4-5",
                "max_tokens": 16000,
                "system": [{"type": "text", "text": "be brief", "cache_control": eph}],
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "list files"}]},
                    {"role": "assistant", "content": [
                        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                        {"type": "tool_use", "id": "t1", "name": "bash", "input": {"command": "ls"}},
                    ]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "t1", "content": "a.txt", "is_error": false, "cache_control": eph},
                    ]},
                ],
                "tools": [
                    {"name": "bash", "description": "run", "input_schema": {"type": "object"}},
                    {"name": "read", "description": "read", "input_schema": {"type": "object"}, "cache_control": eph},
                ],
                "thinking": {"type": "enabled", "budget_tokens": 8000},
                "metadata": {"user_id": "u-1"},
                "stream": true,
            })
        );
        assert!(body.to_string().matches("cache_control").count() <= MAX_CACHE_BREAKPOINTS);
    }

    #[test]
    fn thinking_follows_the_profile() {
        let mut req = request();
        req.max_tokens = None;
        let mut thinking = |model: &str| {
            req.model = model.into();
            build_body(&req, &profile_for(model), false)
                .get("thinking")
                .cloned()
        };
        assert_eq!(
            thinking("claude-opus-4-7"),
            Some(json!({"type": "adaptive"}))
        );
        assert_eq!(thinking("claude-haiku-4-5"), None);
        let mut small = profile_for("claude-sonnet-4-5");
        small.default_max_tokens = 4000;
        assert_eq!(
            build_body(&req, &small, false)["thinking"],
            json!({"type": "enabled", "budget_tokens": 3999})
        );
        small.default_max_tokens = 1000;
        assert_eq!(build_body(&req, &small, false).get("thinking"), None);
    }

    #[test]
    fn the_moving_breakpoint_skips_thinking_and_empty_text() {
        let mut req = request();
        req.messages.push(Message::assistant(vec![
            ContentBlock::text("partial"),
            ContentBlock::text(""),
            ContentBlock::RedactedThinking { data: "x".into() },
        ]));
        let body = build_body(&req, &profile_for(&req.model), true);
        assert_eq!(
            body["messages"][3]["content"][0]["cache_control"],
            json!({"type": "ephemeral"})
        );
        assert_eq!(body.to_string().matches("cache_control").count(), 3);
    }

    #[test]
    fn count_tokens_body_drops_generation_fields() {
        let req = request();
        let body = build_count_tokens_body(&req, &profile_for(&req.model));
        for absent in ["max_tokens", "stream", "metadata"] {
            assert_eq!(body.get(absent), None, "{absent}");
        }
        assert_eq!(body["messages"].as_array().map(Vec::len), Some(3));
    }
}
