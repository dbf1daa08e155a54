//! The conversation as the Messages API sees it. These types serialize to
//! exactly the wire shape, so a stored conversation can be replayed verbatim.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<ContentBlock>,
}

impl Message {
    pub fn user(content: Vec<ContentBlock>) -> Self {
        Self {
            role: Role::User,
            content,
        }
    }

    pub fn assistant(content: Vec<ContentBlock>) -> Self {
        Self {
            role: Role::Assistant,
            content,
        }
    }

    /// A user message holding a single text block.
    pub fn user_text(text: impl Into<String>) -> Self {
        Self::user(vec![ContentBlock::text(text)])
    }
}

/// One block of message content.
///
/// Thinking blocks must be sent back exactly as received (the signature
/// covers them), and block types newer than this code are kept as their raw
/// JSON object so they survive a round trip unchanged.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    Text {
        text: String,
    },
    Thinking {
        thinking: String,
        signature: String,
    },
    RedactedThinking {
        data: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        content: String,
        is_error: bool,
    },
    /// Any other block type (server_tool_use, web_search_tool_result, ...),
    /// `type` field included.
    #[serde(untagged)]
    Unknown(Map<String, Value>),
}

impl ContentBlock {
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text { text: text.into() }
    }

    pub fn tool_result(
        tool_use_id: impl Into<String>,
        content: impl Into<String>,
        is_error: bool,
    ) -> Self {
        Self::ToolResult {
            tool_use_id: tool_use_id.into(),
            content: content.into(),
            is_error,
        }
    }
}

/// The strict decoding of known block types. A separate type, because a
/// derived `#[serde(untagged)]` fallback would also swallow malformed known
/// blocks (a `text` block without `text`) instead of rejecting them.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum KnownBlock {
    Text {
        text: String,
    },
    Thinking {
        thinking: String,
        // `content_block_start` may omit it; it arrives as a signature_delta.
        #[serde(default)]
        signature: String,
    },
    RedactedThinking {
        data: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        #[serde(deserialize_with = "tool_result_content")]
        content: String,
        #[serde(default)]
        is_error: bool,
    },
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for ContentBlock {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let value = Value::Object(Map::deserialize(de)?);
        let known = KnownBlock::deserialize(&value).map_err(serde::de::Error::custom)?;
        Ok(match known {
            KnownBlock::Text { text } => Self::Text { text },
            KnownBlock::Thinking {
                thinking,
                signature,
            } => Self::Thinking {
                thinking,
                signature,
            },
            KnownBlock::RedactedThinking { data } => Self::RedactedThinking { data },
            KnownBlock::ToolUse { id, name, input } => Self::ToolUse { id, name, input },
            KnownBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => Self::ToolResult {
                tool_use_id,
                content,
                is_error,
            },
            KnownBlock::Other => match value {
                Value::Object(raw) => Self::Unknown(raw),
                _ => return Err(serde::de::Error::custom("content block is not an object")),
            },
        })
    }
}

/// Tool results may carry a string or a list of blocks; we keep the text.
fn tool_result_content<'de, D: Deserializer<'de>>(de: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Content {
        Text(String),
        Blocks(Vec<ContentBlock>),
    }
    Ok(match Content::deserialize(de)? {
        Content::Text(text) => text,
        Content::Blocks(blocks) => blocks
            .into_iter()
            .filter_map(|block| match block {
                ContentBlock::Text { text } => Some(text),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
    })
}

/// A custom (client) tool offered to the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolDefinition {
    pub name: String,
    pub description: String,
    pub input_schema: Value,
}

/// Everything needed for one model call; the wire body is derived from it
/// and the model's profile by [`crate::request::build_body`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelRequest {
    pub model: String,
    pub system: Option<String>,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolDefinition>,
    /// `None` uses the model profile's default.
    pub max_tokens: Option<u32>,
    /// Opaque end-user id for abuse monitoring; never PII.
    pub metadata_user_id: Option<String>,
    /// A key for this request instead of the client's own: the session
    /// owner's key (bring your own key). Never part of the body.
    pub api_key: Option<crate::ApiKey>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn known_blocks_use_the_wire_shape() {
        let blocks = vec![
            ContentBlock::text("hi"),
            ContentBlock::Thinking {
                thinking: "hmm".into(),
                signature: "sig".into(),
            },
            ContentBlock::RedactedThinking { data: "abc".into() },
            ContentBlock::ToolUse {
                id: "toolu_1".into(),
                name: "bash".into(),
                input: json!({"command": "ls"}),
            },
            ContentBlock::tool_result("toolu_1", "out", false),
        ];
        let wire = json!([
            {"type": "text", "text": "hi"},
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            {"type": "redacted_thinking", "data": "abc"},
            {"type": "tool_use", "id": "toolu_1", "name": "bash", "input": {"command": "ls"}},
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "out", "is_error": false},
        ]);
        assert_eq!(serde_json::to_value(&blocks).unwrap(), wire);
        assert_eq!(
            serde_json::from_value::<Vec<ContentBlock>>(wire).unwrap(),
            blocks
        );
    }

    #[test]
    fn unknown_blocks_round_trip_unchanged() {
        let raw = json!({"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"q": "x"}});
        let block: ContentBlock = serde_json::from_value(raw.clone()).unwrap();
        assert!(matches!(block, ContentBlock::Unknown(_)));
        assert_eq!(serde_json::to_value(&block).unwrap(), raw);
    }

    #[test]
    fn a_malformed_known_block_is_an_error_not_unknown() {
        let result = serde_json::from_value::<ContentBlock>(json!({"type": "text"}));
        assert!(result.is_err(), "{result:?}");
    }

    #[test]
    fn tool_result_content_may_be_a_block_list() {
        let block: ContentBlock = serde_json::from_value(json!({
            "type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
        }))
        .unwrap();
        assert_eq!(block, ContentBlock::tool_result("t", "a\nb", false));
    }

    #[test]
    fn messages_serialize_with_lowercase_roles() {
        let msg = Message::user_text("hello");
        assert_eq!(
            serde_json::to_value(&msg).unwrap(),
            json!({"role": "user", "content": [{"type": "text", "text": "hello"}]})
        );
    }
}
