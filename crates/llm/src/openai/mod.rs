//! [`ModelClient`] for OpenAI-compatible Chat Completions servers (OpenAI,
//! Ollama, vLLM, llama.cpp `llama-server --jinja`, LiteLLM and other proxies).
//!
//! Requests are translated from the Anthropic-shaped [`ModelRequest`]
//! ([`build_chat_body`]) and streamed chunks are translated back into the
//! Anthropic event sequence, so the core's turn loop and
//! [`MessageAccumulator`](crate::MessageAccumulator) need no second code path.
//! Model ids may carry the [`MODEL_PREFIX`] (`openai:llama3.1`); it is
//! stripped before sending.

mod calls;
mod config;
mod error;
mod request;
pub(crate) mod sse;
mod translate;
mod wire;

use async_trait::async_trait;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use crate::accumulator::MessageAccumulator;
use crate::client::{EventStream, ModelClient};
use crate::config::ApiKey;
use crate::error::LlmError;
use crate::messages::ModelRequest;
use crate::retry::run_with_retry;
use crate::stream::AssistantMessage;

pub use config::{DEFAULT_OPENAI_BASE_URL, OPENAI_API_KEY_VAR, OPENAI_BASE_URL_VAR, OpenAiConfig};
pub use request::{MODEL_PREFIX, build_chat_body, estimate_tokens, wire_model};

use translate::Translator;
use wire::{Chunk, ChunkChoice, ChunkDelta, Completion};

/// How a call reads its response, which decides its timeout.
#[derive(Clone, Copy, Debug)]
enum Call {
    /// Headers must come within the idle timeout; the body is read as chunks.
    Stream,
    /// Nothing arrives until the model is done: one whole-request timeout.
    Json,
}

pub struct OpenAiClient {
    http: reqwest::Client,
    config: OpenAiConfig,
    /// The auth header, built (and validated) once.
    headers: HeaderMap,
    completions_url: String,
}

impl std::fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `config` masks its key; `headers` would not, so it is left out.
        f.debug_struct("OpenAiClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl OpenAiClient {
    pub fn new(config: OpenAiConfig) -> Result<Self, LlmError> {
        let base = config.base_url.trim_end_matches('/').to_owned();
        reqwest::Url::parse(&base)
            .map_err(|e| LlmError::Config(format!("OpenAI base_url {base:?}: {e}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| LlmError::Config(format!("HTTP client: {e}")))?;
        let mut headers = HeaderMap::new();
        if let Some(key) = &config.api_key {
            let mut bearer =
                HeaderValue::from_str(&format!("Bearer {}", key.expose())).map_err(|_| {
                    LlmError::Config("OpenAI API key is not a valid header value".into())
                })?;
            bearer.set_sensitive(true);
            headers.insert(AUTHORIZATION, bearer);
        }
        Ok(Self {
            http,
            headers,
            completions_url: format!("{base}/chat/completions"),
            config,
        })
    }

    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    /// One attempt: the response if its status is 2xx, else the API error.
    async fn send(
        &self,
        body: &Value,
        retries: u32,
        call: Call,
        api_key: Option<&ApiKey>,
    ) -> Result<reqwest::Response, LlmError> {
        let mut headers = self.headers.clone();
        // A session's own key (bring your own key) replaces the server's.
        if let Some(key) = api_key {
            let mut bearer = HeaderValue::from_str(&format!("Bearer {}", key.expose()))
                .map_err(|_| LlmError::Config("the API key is not a valid header value".into()))?;
            bearer.set_sensitive(true);
            headers.insert(AUTHORIZATION, bearer);
        }
        headers.insert(
            HeaderName::from_static("x-stainless-retry-count"),
            HeaderValue::from(retries),
        );
        let accept = match call {
            Call::Stream => "text/event-stream",
            Call::Json => "application/json",
        };
        headers.insert(ACCEPT, HeaderValue::from_static(accept));
        let request = self
            .http
            .post(&self.completions_url)
            .headers(headers)
            .json(body);
        let response = match call {
            Call::Stream => {
                let idle = self.config.idle_timeout;
                tokio::time::timeout(idle, request.send())
                    .await
                    .map_err(|_| LlmError::IdleTimeout(idle))?
            }
            Call::Json => request.timeout(self.config.request_timeout).send().await,
        }
        // reqwest's Display names the URL but never our headers, so no secret leaks.
        .map_err(|e| LlmError::Transport(e.to_string()))?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(error::api_error(response).await)
    }

    /// One non-streaming attempt, body included, so a broken body is retried too.
    async fn send_json(
        &self,
        body: &Value,
        retries: u32,
        api_key: Option<&ApiKey>,
    ) -> Result<Completion, LlmError> {
        let response = self.send(body, retries, Call::Json, api_key).await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| LlmError::Transport(e.to_string()))?;
        serde_json::from_slice(&bytes).map_err(|e| LlmError::Decode(format!("response body: {e}")))
    }
}

#[async_trait]
impl ModelClient for OpenAiClient {
    async fn stream(&self, request: &ModelRequest) -> Result<EventStream, LlmError> {
        let body = build_chat_body(request, true);
        let response = run_with_retry(&self.config.retry, |retries| {
            self.send(&body, retries, Call::Stream, request.api_key.as_ref())
        })
        .await?;
        Ok(sse::decode(
            response.bytes_stream(),
            wire_model(&request.model).to_owned(),
            self.config.idle_timeout,
        ))
    }

    async fn create(&self, request: &ModelRequest) -> Result<AssistantMessage, LlmError> {
        let body = build_chat_body(request, false);
        let completion = run_with_retry(&self.config.retry, |retries| {
            self.send_json(&body, retries, request.api_key.as_ref())
        })
        .await?;
        completion_message(completion, wire_model(&request.model))
    }

    /// An estimate (see [`estimate_tokens`]): Chat Completions has no
    /// counting endpoint. No request is sent.
    async fn count_tokens(&self, request: &ModelRequest) -> Result<u64, LlmError> {
        Ok(estimate_tokens(request))
    }
}

/// A whole completion, read as if it were one chunk followed by `[DONE]`, so
/// it gets exactly the tolerance and mapping of a streamed one.
fn completion_message(completion: Completion, model: &str) -> Result<AssistantMessage, LlmError> {
    let choice = completion.choices.into_iter().next().unwrap_or_default();
    let chunk = Chunk {
        id: completion.id,
        model: completion.model,
        choices: vec![ChunkChoice {
            index: Some(0),
            delta: ChunkDelta {
                content: choice.message.content,
                refusal: choice.message.refusal,
                tool_calls: choice.message.tool_calls,
            },
            finish_reason: choice.finish_reason,
        }],
        usage: completion.usage,
        error: None,
    };
    let mut translator = Translator::new(model);
    let mut events = Vec::new();
    translator.chunk(chunk, &mut events)?;
    translator.done(&mut events);
    let mut acc = MessageAccumulator::new();
    for event in &events {
        acc.push(event)?;
    }
    acc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::ContentBlock;
    use crate::stream::StopReason;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn a_whole_completion_becomes_a_message() {
        let completion: Completion = serde_json::from_value(json!({
            "id": "chatcmpl-9", "object": "chat.completion", "model": "gpt-x",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null,
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "bash", "arguments": "{\"command\":\"ls\"}"}}]}}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 4}
        }))
        .unwrap();
        let message = completion_message(completion, "requested").unwrap();
        assert_eq!(message.id, "chatcmpl-9");
        assert_eq!(message.stop_reason, StopReason::ToolUse);
        assert_eq!(
            message.content,
            vec![ContentBlock::ToolUse {
                id: "call_1".into(),
                name: "bash".into(),
                input: json!({"command": "ls"})
            }]
        );
        assert_eq!(message.usage.input_tokens, 9);
    }

    #[test]
    fn an_empty_completion_is_an_empty_end_turn() {
        let message = completion_message(Completion::default(), "m").unwrap();
        assert_eq!(message.model, "m");
        assert_eq!(message.content, vec![]);
        assert_eq!(message.stop_reason, StopReason::EndTurn);
    }

    #[test]
    fn debug_output_hides_the_key() {
        let client = OpenAiClient::new(OpenAiConfig {
            api_key: Some(crate::config::ApiKey::new("sk-proj-verysecretvalue-WXYZ")),
            ..OpenAiConfig::default()
        })
        .unwrap();
        assert!(!format!("{client:?}").contains("verysecret"));
        assert!(OpenAiClient::new(OpenAiConfig::for_tests("not a url")).is_err());
    }
}
