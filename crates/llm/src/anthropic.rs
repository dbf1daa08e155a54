//! [`ModelClient`] for the Anthropic Messages API over reqwest.

use std::future::Future;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::{EventStream, ModelClient};
use crate::config::{AnthropicConfig, ApiKey};
use crate::error::{ApiErrorKind, ErrorResponse, LlmError};
use crate::messages::{ContentBlock, ModelRequest};
use crate::profile::profile_for;
use crate::request::{build_body, build_count_tokens_body};
use crate::retry::{run_with_retry, server_hint, should_retry_status};
use crate::sse;
use crate::stream::{AssistantMessage, StopReason, UsageUpdate};

pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// How a call reads its response, which decides its timeout.
#[derive(Clone, Copy, Debug)]
enum Call {
    /// Headers must come within the idle timeout; the body is read as events.
    Stream,
    /// Nothing arrives until the model is done: one whole-request timeout.
    Json,
}

pub struct AnthropicClient {
    http: reqwest::Client,
    config: AnthropicConfig,
    /// Version, auth and beta headers, built (and validated) once.
    headers: HeaderMap,
    messages_url: String,
    count_tokens_url: String,
}

impl std::fmt::Debug for AnthropicClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `config` masks its secrets; `headers` would not, so it is left out.
        f.debug_struct("AnthropicClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AnthropicClient {
    pub fn new(config: AnthropicConfig) -> Result<Self, LlmError> {
        let base = config.base_url.trim_end_matches('/').to_owned();
        reqwest::Url::parse(&base)
            .map_err(|e| LlmError::Config(format!("base_url {base:?}: {e}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| LlmError::Config(format!("HTTP client: {e}")))?;
        let headers = base_headers(&config)?;
        if config.api_key.is_none() && config.auth_token.is_none() {
            tracing::warn!(base_url = %base, "no Anthropic API key or auth token configured");
        }
        Ok(Self {
            http,
            headers,
            messages_url: format!("{base}/v1/messages"),
            count_tokens_url: format!("{base}/v1/messages/count_tokens"),
            config,
        })
    }

    pub fn config(&self) -> &AnthropicConfig {
        &self.config
    }

    /// The SDKs' retry policy around one request (see `retry::run_with_retry`).
    async fn retry<T, F, Fut>(&self, op: F) -> Result<T, LlmError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, LlmError>>,
    {
        run_with_retry(&self.config.retry, op).await
    }

    /// One attempt: the response if its status is 2xx, else the API error.
    async fn send(
        &self,
        url: &str,
        body: &Value,
        retries: u32,
        call: Call,
        key: Option<&ApiKey>,
    ) -> Result<reqwest::Response, LlmError> {
        let mut headers = self.headers.clone();
        if let Some(key) = key {
            // The request's own key replaces the client's credentials.
            let mut value = HeaderValue::from_str(key.expose())
                .map_err(|_| LlmError::Config("the API key is not a valid header value".into()))?;
            value.set_sensitive(true);
            headers.remove(AUTHORIZATION);
            headers.insert(HeaderName::from_static("x-api-key"), value);
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
        let request = self.http.post(url).headers(headers).json(body);
        let response = match call {
            Call::Stream => {
                let idle = self.config.idle_timeout;
                tokio::time::timeout(idle, request.send())
                    .await
                    .map_err(|_| LlmError::IdleTimeout(idle))?
            }
            Call::Json => request.timeout(self.config.request_timeout).send().await,
        }
        .map_err(transport_error)?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(api_error(response).await)
    }

    /// One non-streaming attempt, body included, so a broken body is retried too.
    async fn send_json<T: DeserializeOwned>(
        &self,
        url: &str,
        body: &Value,
        retries: u32,
        key: Option<&ApiKey>,
    ) -> Result<T, LlmError> {
        let response = self.send(url, body, retries, Call::Json, key).await?;
        let bytes = response.bytes().await.map_err(transport_error)?;
        serde_json::from_slice(&bytes).map_err(|e| LlmError::Decode(format!("response body: {e}")))
    }
}

#[async_trait]
impl ModelClient for AnthropicClient {
    async fn stream(&self, request: &ModelRequest) -> Result<EventStream, LlmError> {
        let body = build_body(request, &profile_for(&request.model), true);
        let response = self
            .retry(|retries| {
                self.send(
                    &self.messages_url,
                    &body,
                    retries,
                    Call::Stream,
                    request.api_key.as_ref(),
                )
            })
            .await?;
        Ok(sse::decode(
            response.bytes_stream(),
            self.config.idle_timeout,
        ))
    }

    async fn create(&self, request: &ModelRequest) -> Result<AssistantMessage, LlmError> {
        let body = build_body(request, &profile_for(&request.model), false);
        let message: WireMessage = self
            .retry(|retries| {
                self.send_json(&self.messages_url, &body, retries, request.api_key.as_ref())
            })
            .await?;
        Ok(message.into())
    }

    async fn count_tokens(&self, request: &ModelRequest) -> Result<u64, LlmError> {
        let body = build_count_tokens_body(request, &profile_for(&request.model));
        let count: TokenCount = self
            .retry(|retries| {
                self.send_json(
                    &self.count_tokens_url,
                    &body,
                    retries,
                    request.api_key.as_ref(),
                )
            })
            .await?;
        Ok(count.input_tokens)
    }
}

/// A non-streaming response (PROTOCOLS §1.4), fields we keep.
#[derive(Deserialize)]
struct WireMessage {
    id: String,
    model: String,
    content: Vec<ContentBlock>,
    #[serde(default)]
    stop_reason: Option<StopReason>,
    #[serde(default)]
    usage: UsageUpdate,
}

impl From<WireMessage> for AssistantMessage {
    fn from(wire: WireMessage) -> Self {
        Self {
            id: wire.id,
            model: wire.model,
            content: wire.content,
            stop_reason: wire
                .stop_reason
                .unwrap_or_else(|| StopReason::Other("unknown".into())),
            usage: wire.usage.into(),
        }
    }
}

#[derive(Deserialize)]
struct TokenCount {
    input_tokens: u64,
}

fn base_headers(config: &AnthropicConfig) -> Result<HeaderMap, LlmError> {
    let value = |name: &str, raw: &str| {
        HeaderValue::from_str(raw)
            .map_err(|_| LlmError::Config(format!("{name} is not a valid header value")))
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static("anthropic-version"),
        HeaderValue::from_static(ANTHROPIC_VERSION),
    );
    if let Some(key) = &config.api_key {
        let mut key = value("API key", key.expose())?;
        key.set_sensitive(true);
        headers.insert(HeaderName::from_static("x-api-key"), key);
    }
    if let Some(token) = &config.auth_token {
        let mut bearer = value("auth token", &format!("Bearer {}", token.expose()))?;
        bearer.set_sensitive(true);
        headers.insert(AUTHORIZATION, bearer);
    }
    if !config.extra_betas.is_empty() {
        headers.insert(
            HeaderName::from_static("anthropic-beta"),
            value("beta list", &config.extra_betas.join(","))?,
        );
    }
    Ok(headers)
}

fn transport_error(err: reqwest::Error) -> LlmError {
    // reqwest's Display names the URL but never our headers, so no secret leaks.
    LlmError::Transport(err.to_string())
}

/// Reads a non-2xx response into [`LlmError::Api`], deciding retry policy
/// from its status and headers.
async fn api_error(response: reqwest::Response) -> LlmError {
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let should_retry = header("x-should-retry");
    let retry_after = server_hint(
        header("retry-after-ms").as_deref(),
        header("retry-after").as_deref(),
        SystemTime::now(),
    );
    let header_request_id = header("request-id");
    // The body of an error is small; a failure to read it leaves the status to speak.
    let text = tokio::time::timeout(Duration::from_secs(10), response.text())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let (kind, message, body_request_id) = match serde_json::from_str::<ErrorResponse>(&text) {
        Ok(parsed) => (parsed.error.kind, parsed.error.message, parsed.request_id),
        Err(_) => (
            ApiErrorKind::from_status(status),
            truncate(&text, 500),
            None,
        ),
    };
    LlmError::Api {
        status,
        kind,
        message,
        request_id: header_request_id.or(body_request_id),
        retryable: should_retry_status(status, should_retry.as_deref()),
        retry_after,
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}
