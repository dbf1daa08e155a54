//! Builds the Chat Completions body (PROTOCOLS §5.3) from a [`ModelRequest`]:
//! a pure function, so the translation is unit-tested without a server.

use serde::Serialize;
use serde_json::Value;

use crate::messages::{ContentBlock, Message, ModelRequest, Role};

/// Model ids with this prefix are served by the OpenAI-compatible client.
pub const MODEL_PREFIX: &str = "openai:";

/// The model name the server knows: `openai:llama3.1` → `llama3.1`.
pub fn wire_model(model: &str) -> &str {
    model.strip_prefix(MODEL_PREFIX).unwrap_or(model)
}

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    messages: Vec<ChatMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tool<'a>>,
    /// Only when the caller set it: local servers reject limits beyond their
    /// context, and their own default is sized to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Debug, PartialEq, Serialize)]
#[serde(tag = "role", rename_all = "snake_case")]
enum ChatMessage<'a> {
    System {
        content: &'a str,
    },
    User {
        content: String,
    },
    Assistant {
        /// `null` when the turn is only tool calls, as the API expects.
        content: Option<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall<'a>>,
    },
    Tool {
        tool_call_id: &'a str,
        content: &'a str,
    },
}

#[derive(Debug, PartialEq, Serialize)]
struct ToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: FunctionType,
    function: FunctionCall<'a>,
}

#[derive(Debug, PartialEq, Serialize)]
struct FunctionCall<'a> {
    name: &'a str,
    /// A JSON document as a string, not an object.
    arguments: String,
}

#[derive(Debug, PartialEq, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
enum FunctionType {
    Function,
}

#[derive(Serialize)]
struct Tool<'a> {
    #[serde(rename = "type")]
    kind: FunctionType,
    function: FunctionDef<'a>,
}

#[derive(Serialize)]
struct FunctionDef<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a Value,
}

/// The body for `POST {base}/chat/completions`. Streaming bodies ask for
/// usage in a final chunk (`stream_options.include_usage`).
///
/// Thinking, redacted thinking and unknown blocks are dropped: they are
/// Anthropic's and no Chat Completions server could read them. A tool
/// result's `is_error` has no field here and is dropped too; the text says it.
pub fn build_chat_body(req: &ModelRequest, stream: bool) -> Value {
    let body = Body {
        model: wire_model(&req.model),
        messages: messages(req),
        tools: req
            .tools
            .iter()
            .map(|tool| Tool {
                kind: FunctionType::Function,
                function: FunctionDef {
                    name: &tool.name,
                    description: &tool.description,
                    parameters: &tool.input_schema,
                },
            })
            .collect(),
        max_tokens: req.max_tokens,
        user: req.metadata_user_id.as_deref(),
        stream,
        stream_options: stream.then_some(StreamOptions {
            include_usage: true,
        }),
    };
    // Plain structs of strings and JSON values always serialize.
    serde_json::to_value(&body).unwrap_or(Value::Null)
}

fn messages(req: &ModelRequest) -> Vec<ChatMessage<'_>> {
    let mut out = Vec::with_capacity(req.messages.len() + 1);
    if let Some(system) = req.system.as_deref().filter(|s| !s.is_empty()) {
        out.push(ChatMessage::System { content: system });
    }
    for message in &req.messages {
        match message.role {
            Role::User => user_messages(message, &mut out),
            Role::Assistant => out.push(assistant_message(message)),
        }
    }
    out
}

/// Tool results become `tool` messages, in order; the rest of the user
/// turn's text follows them as one user message, because the API wants the
/// results right after the assistant message that made the calls.
fn user_messages<'a>(message: &'a Message, out: &mut Vec<ChatMessage<'a>>) {
    let mut texts = Vec::new();
    for block in &message.content {
        match block {
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error: _,
            } => out.push(ChatMessage::Tool {
                tool_call_id: tool_use_id,
                content,
            }),
            ContentBlock::Text { text } => texts.push(text.as_str()),
            ContentBlock::Thinking { .. }
            | ContentBlock::RedactedThinking { .. }
            | ContentBlock::ToolUse { .. }
            | ContentBlock::Unknown(_) => {}
        }
    }
    if !texts.is_empty() {
        out.push(ChatMessage::User {
            content: texts.join("\n\n"),
        });
    }
}

fn assistant_message(message: &Message) -> ChatMessage<'_> {
    let mut texts = Vec::new();
    let mut tool_calls = Vec::new();
    for block in &message.content {
        match block {
            ContentBlock::Text { text } => texts.push(text.as_str()),
            ContentBlock::ToolUse { id, name, input } => tool_calls.push(ToolCall {
                id,
                kind: FunctionType::Function,
                function: FunctionCall {
                    name,
                    arguments: input.to_string(),
                },
            }),
            ContentBlock::Thinking { .. }
            | ContentBlock::RedactedThinking { .. }
            | ContentBlock::ToolResult { .. }
            | ContentBlock::Unknown(_) => {}
        }
    }
    let content = match (texts.is_empty(), tool_calls.is_empty()) {
        (false, _) => Some(texts.join("\n\n")),
        (true, false) => None,
        // Neither text nor calls (a thinking-only turn): keep the turn, empty.
        (true, true) => Some(String::new()),
    };
    ChatMessage::Assistant {
        content,
        tool_calls,
    }
}

/// An estimate of the request's input tokens at four characters per token.
/// Chat Completions has no counting endpoint and local tokenizers differ,
/// so this is only good for budgeting, never for billing.
pub fn estimate_tokens(req: &ModelRequest) -> u64 {
    let block_chars = |block: &ContentBlock| match block {
        ContentBlock::Text { text } => text.chars().count(),
        ContentBlock::ToolUse { name, input, .. } => name.len() + input.to_string().len(),
        ContentBlock::ToolResult { content, .. } => content.chars().count(),
        ContentBlock::Thinking { .. }
        | ContentBlock::RedactedThinking { .. }
        | ContentBlock::Unknown(_) => 0,
    };
    let chars = req.system.as_deref().map_or(0, |s| s.chars().count())
        + req
            .messages
            .iter()
            .flat_map(|m| &m.content)
            .map(block_chars)
            .sum::<usize>()
        + req
            .tools
            .iter()
            .map(|t| {
                t.name.len() + t.description.chars().count() + t.input_schema.to_string().len()
            })
            .sum::<usize>();
    (chars as u64).div_ceil(4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::ToolDefinition;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn conversation() -> ModelRequest {
        ModelRequest {
            model: "openai:llama3.1".into(),
            system: Some("Be brief.".into()),
            messages: vec![
                Message::user_text("list files"),
                Message::assistant(vec![
                    ContentBlock::Thinking {
                        thinking: "hm".into(),
                        signature: "s".into(),
                    },
                    ContentBlock::text("Looking."),
                    ContentBlock::ToolUse {
                        id: "call_1".into(),
                        name: "bash".into(),
                        input: json!({"command": "ls"}),
                    },
                    ContentBlock::ToolUse {
                        id: "call_2".into(),
                        name: "read".into(),
                        input: json!({"path": "a"}),
                    },
                ]),
                Message::user(vec![
                    ContentBlock::tool_result("call_1", "a\nb", false),
                    ContentBlock::text("also check b"),
                    ContentBlock::tool_result("call_2", "no such file", true),
                ]),
                Message::assistant(vec![ContentBlock::ToolUse {
                    id: "call_3".into(),
                    name: "bash".into(),
                    input: json!({}),
                }]),
            ],
            tools: vec![ToolDefinition {
                name: "bash".into(),
                description: "Run".into(),
                input_schema: json!({"type": "object"}),
            }],
            max_tokens: None,
            metadata_user_id: None,
            api_key: None,
        }
    }

    #[test]
    fn a_conversation_translates_to_chat_messages() {
        let body = build_chat_body(&conversation(), true);
        assert_eq!(
            body,
            json!({
                "model": "llama3.1",
                "stream": true,
                "stream_options": {"include_usage": true},
                "tools": [{"type": "function", "function": {"name": "bash", "description": "Run", "parameters": {"type": "object"}}}],
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "list files"},
                    {"role": "assistant", "content": "Looking.", "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "bash", "arguments": "{\"command\":\"ls\"}"}},
                        {"id": "call_2", "type": "function", "function": {"name": "read", "arguments": "{\"path\":\"a\"}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "a\nb"},
                    {"role": "tool", "tool_call_id": "call_2", "content": "no such file"},
                    {"role": "user", "content": "also check b"},
                    {"role": "assistant", "content": null, "tool_calls": [
                        {"id": "call_3", "type": "function", "function": {"name": "bash", "arguments": "{}"}}
                    ]}
                ]
            })
        );
    }

    #[test]
    fn non_streaming_bodies_have_no_stream_options_and_limits_pass_through() {
        let mut req = conversation();
        req.system = None;
        req.tools.clear();
        req.max_tokens = Some(100);
        req.metadata_user_id = Some("u1".into());
        let body = build_chat_body(&req, false);
        assert_eq!(body["stream"], false);
        assert_eq!(body["max_tokens"], 100);
        assert_eq!(body["user"], "u1");
        assert!(body.get("stream_options").is_none() && body.get("tools").is_none());
        assert_eq!(body["messages"][0]["role"], "user");
    }

    #[test]
    fn thinking_only_turns_stay_as_empty_assistant_messages() {
        let req = ModelRequest {
            model: "m".into(),
            messages: vec![Message::assistant(vec![ContentBlock::RedactedThinking {
                data: "x".into(),
            }])],
            ..ModelRequest::default()
        };
        assert_eq!(
            build_chat_body(&req, true)["messages"],
            json!([{"role": "assistant", "content": ""}])
        );
    }

    #[test]
    fn estimates_are_a_quarter_of_the_characters() {
        let req = ModelRequest {
            model: "m".into(),
            system: Some("abcd".into()),
            messages: vec![Message::user_text("efghi")],
            ..ModelRequest::default()
        };
        assert_eq!(estimate_tokens(&req), 3);
        assert_eq!(wire_model("openai:gpt-4o"), "gpt-4o");
        assert_eq!(wire_model("gpt-4o"), "gpt-4o");
    }
}
