//! Typed Chat Completions responses (PROTOCOLS §5.3): stream chunks, the
//! non-streaming completion and the error body. Every field is optional or
//! defaulted, and `null` counts as absent, because local servers (Ollama,
//! vLLM, llama.cpp, proxies) each leave out a different subset.

use serde::{Deserialize, Deserializer};

use crate::error::ApiErrorKind;
use crate::stream::{StopReason, UsageUpdate};

/// One `data: {…}` payload of a streamed completion.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub(crate) struct Chunk {
    pub id: Option<String>,
    pub model: Option<String>,
    /// vLLM may send `"choices": null` (or no key) in the usage chunk.
    #[serde(deserialize_with = "null_as_default")]
    pub choices: Vec<ChunkChoice>,
    pub usage: Option<Usage>,
    /// Some servers report a failure after the 200 as a chunk with `error`.
    pub error: Option<ErrorDetail>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub(crate) struct ChunkChoice {
    /// Choice number (only 0 is used; agentd never asks for `n > 1`).
    pub index: Option<u32>,
    #[serde(deserialize_with = "null_as_default")]
    pub delta: ChunkDelta,
    #[serde(deserialize_with = "finish_reason")]
    pub finish_reason: Option<FinishReason>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub(crate) struct ChunkDelta {
    pub content: Option<String>,
    /// A refusal explanation; shown to the user like text.
    pub refusal: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub tool_calls: Vec<ToolCallDelta>,
}

/// A fragment of one tool call. Which call it continues is decided by
/// [`super::calls::ToolCalls`], as `index` and `id` are both unreliable.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub(crate) struct ToolCallDelta {
    pub index: Option<u32>,
    pub id: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub function: FunctionDelta,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub(crate) struct FunctionDelta {
    pub name: Option<String>,
    pub arguments: Option<Arguments>,
}

/// Tool arguments: a JSON string by the spec, but some servers send the
/// object itself; both become the JSON text.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum Arguments {
    Text(String),
    Json(serde_json::Value),
}

impl Arguments {
    pub fn into_text(self) -> String {
        match self {
            Self::Text(text) => text,
            Self::Json(value) => value.to_string(),
        }
    }
}

/// Why generation stopped, in Chat Completions terms.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub(crate) enum FinishReason {
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
    /// The pre-tools spelling of `tool_calls`.
    FunctionCall,
    Other(String),
}

impl From<String> for FinishReason {
    fn from(wire: String) -> Self {
        match wire.as_str() {
            "stop" => Self::Stop,
            "length" => Self::Length,
            "tool_calls" => Self::ToolCalls,
            "content_filter" => Self::ContentFilter,
            "function_call" => Self::FunctionCall,
            _ => Self::Other(wire),
        }
    }
}

impl From<FinishReason> for StopReason {
    fn from(reason: FinishReason) -> Self {
        match reason {
            FinishReason::Stop => Self::EndTurn,
            FinishReason::Length => Self::MaxTokens,
            FinishReason::ToolCalls | FinishReason::FunctionCall => Self::ToolUse,
            FinishReason::ContentFilter => Self::Refusal,
            FinishReason::Other(other) => Self::Other(other),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub(crate) struct Usage {
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    #[serde(deserialize_with = "null_as_default")]
    pub prompt_tokens_details: PromptTokensDetails,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub(crate) struct PromptTokensDetails {
    pub cached_tokens: Option<u64>,
}

impl From<Usage> for UsageUpdate {
    /// `prompt_tokens` includes cached tokens, while agentd's `input_tokens`
    /// counts uncached input only (as Anthropic's does), so they are split.
    fn from(usage: Usage) -> Self {
        let cached = usage.prompt_tokens_details.cached_tokens;
        Self {
            input_tokens: usage
                .prompt_tokens
                .map(|prompt| prompt.saturating_sub(cached.unwrap_or(0))),
            output_tokens: usage.completion_tokens,
            cache_creation_input_tokens: None,
            cache_read_input_tokens: cached,
        }
    }
}

/// A non-streaming `chat.completion`, fields we keep.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub(crate) struct Completion {
    pub id: Option<String>,
    pub model: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub choices: Vec<CompletionChoice>,
    pub usage: Option<Usage>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub(crate) struct CompletionChoice {
    #[serde(deserialize_with = "null_as_default")]
    pub message: CompletionMessage,
    #[serde(deserialize_with = "finish_reason")]
    pub finish_reason: Option<FinishReason>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub(crate) struct CompletionMessage {
    pub content: Option<String>,
    pub refusal: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub tool_calls: Vec<ToolCallDelta>,
}

/// `{"error": {...}}`; some servers send `{"error": "text"}` instead.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ErrorBody {
    pub error: ErrorField,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum ErrorField {
    Detail(ErrorDetail),
    Text(String),
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub(crate) struct ErrorDetail {
    pub message: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// A string for OpenAI (`rate_limit_exceeded`), a number for llama.cpp.
    pub code: Option<ErrorCodeField>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum ErrorCodeField {
    Text(String),
    Number(i64),
}

impl ErrorDetail {
    fn code_is(&self, expected: &str) -> bool {
        matches!(&self.code, Some(ErrorCodeField::Text(code)) if code == expected)
    }

    /// Out of credit: a 429 that waiting will not fix.
    pub fn is_insufficient_quota(&self) -> bool {
        self.code_is("insufficient_quota")
    }

    /// The kind of an error reported inside the stream, where no status exists.
    pub fn stream_kind(&self) -> ApiErrorKind {
        match self.kind.as_deref() {
            Some("server_error" | "internal_error" | "api_error") => ApiErrorKind::Api,
            Some("rate_limit_exceeded" | "requests" | "tokens") => ApiErrorKind::RateLimit,
            Some("overloaded_error" | "overloaded") => ApiErrorKind::Overloaded,
            Some(other) => ApiErrorKind::from(other.to_owned()),
            None => ApiErrorKind::Api,
        }
    }
}

/// Some proxies send `"finish_reason": ""` on every chunk before the last.
fn finish_reason<'de, D: Deserializer<'de>>(de: D) -> Result<Option<FinishReason>, D::Error> {
    Ok(Option::<String>::deserialize(de)?
        .filter(|reason| !reason.is_empty())
        .map(FinishReason::from))
}

/// `null` and a missing key both mean "the default".
fn null_as_default<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(de)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn chunk(value: serde_json::Value) -> Chunk {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_full_openai_chunk_decodes() {
        let c = chunk(json!({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-x",
            "system_fingerprint": "fp", "usage": null,
            "choices": [{"index": 0, "logprobs": null, "finish_reason": null, "delta": {
                "tool_calls": [{"index": 1, "id": "call_a", "type": "function",
                    "function": {"name": "bash", "arguments": ""}}]}}]
        }));
        let call = &c.choices[0].delta.tool_calls[0];
        assert_eq!(call.index, Some(1));
        assert_eq!(call.id.as_deref(), Some("call_a"));
        assert_eq!(call.function.name.as_deref(), Some("bash"));
    }

    #[test]
    fn null_or_missing_choices_and_fields_are_empty() {
        for value in [
            json!({"choices": null, "usage": {"prompt_tokens": 3}}),
            json!({"usage": {"prompt_tokens": 3, "prompt_tokens_details": null}}),
        ] {
            let c = chunk(value);
            assert!(c.choices.is_empty());
            assert_eq!(c.usage.and_then(|u| u.prompt_tokens), Some(3));
        }
        let c = chunk(
            json!({"choices": [{"delta": null, "finish_reason": "stop"}, {"delta": {"tool_calls": null, "content": null}}]}),
        );
        assert_eq!(c.choices[0].finish_reason, Some(FinishReason::Stop));
        assert_eq!(c.choices[1].delta, ChunkDelta::default());
        let c = chunk(json!({"choices": [{"delta": {"content": "x"}, "finish_reason": ""}]}));
        assert_eq!(c.choices[0].finish_reason, None);
    }

    #[test]
    fn arguments_may_be_an_object() {
        let call: ToolCallDelta =
            serde_json::from_value(json!({"function": {"name": "f", "arguments": {"a": 1}}}))
                .unwrap();
        assert_eq!(
            call.function.arguments.map(Arguments::into_text).as_deref(),
            Some("{\"a\":1}")
        );
    }

    #[test]
    fn cached_tokens_are_split_out_of_prompt_tokens() {
        let usage: Usage = serde_json::from_value(json!({
            "prompt_tokens": 100, "completion_tokens": 7, "total_tokens": 107,
            "prompt_tokens_details": {"cached_tokens": 60}
        }))
        .unwrap();
        assert_eq!(
            UsageUpdate::from(usage),
            UsageUpdate {
                input_tokens: Some(40),
                output_tokens: Some(7),
                cache_creation_input_tokens: None,
                cache_read_input_tokens: Some(60),
            }
        );
    }

    #[test]
    fn finish_reasons_map_to_stop_reasons() {
        let map = |wire: &str| StopReason::from(FinishReason::from(wire.to_owned()));
        assert_eq!(map("stop"), StopReason::EndTurn);
        assert_eq!(map("length"), StopReason::MaxTokens);
        assert_eq!(map("tool_calls"), StopReason::ToolUse);
        assert_eq!(map("content_filter"), StopReason::Refusal);
        assert_eq!(map("eos"), StopReason::Other("eos".into()));
    }

    #[test]
    fn error_bodies_of_several_servers_decode() {
        let openai: ErrorBody = serde_json::from_value(json!({"error": {
            "message": "quota", "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}}))
        .unwrap();
        let ErrorField::Detail(detail) = openai.error else {
            panic!()
        };
        assert!(detail.is_insufficient_quota());
        let llama: ErrorBody = serde_json::from_value(
            json!({"error": {"code": 500, "message": "boom", "type": "server_error"}}),
        )
        .unwrap();
        let ErrorField::Detail(detail) = llama.error else {
            panic!()
        };
        assert_eq!(detail.stream_kind(), ApiErrorKind::Api);
        let bare: ErrorBody = serde_json::from_value(json!({"error": "model not found"})).unwrap();
        assert!(matches!(bare.error, ErrorField::Text(ref t) if t == "model not found"));
    }
}
