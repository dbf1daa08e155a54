//! [`ModelRouter`]: one [`ModelClient`] over both providers, chosen per
//! request by the model id, so a session's model alone picks the provider.

use async_trait::async_trait;

use crate::anthropic::AnthropicClient;
use crate::client::{EventStream, ModelClient};
use crate::config::AnthropicConfig;
use crate::error::LlmError;
use crate::messages::ModelRequest;
use crate::openai::{MODEL_PREFIX, OPENAI_BASE_URL_VAR, OpenAiClient, OpenAiConfig};
use crate::stream::AssistantMessage;

/// Sends `openai:<model>` to the OpenAI-compatible client (as `<model>`)
/// and every other model to Anthropic.
#[derive(Debug)]
pub struct ModelRouter {
    anthropic: AnthropicClient,
    openai: Option<OpenAiClient>,
}

/// Which client serves a request.
enum Route<'a> {
    Anthropic(&'a AnthropicClient),
    OpenAi(&'a OpenAiClient),
}

impl ModelRouter {
    pub fn new(anthropic: AnthropicClient, openai: Option<OpenAiClient>) -> Self {
        Self { anthropic, openai }
    }

    /// Both clients from the process environment; the OpenAI one only when
    /// `OPENAI_BASE_URL` or `OPENAI_API_KEY` is set.
    pub fn from_env() -> Result<Self, LlmError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env) with an injectable lookup.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, LlmError> {
        let anthropic = AnthropicClient::new(AnthropicConfig::from_lookup(&lookup))?;
        let openai = if OpenAiConfig::is_configured(&lookup) {
            Some(OpenAiClient::new(OpenAiConfig::from_lookup(&lookup))?)
        } else {
            None
        };
        Ok(Self::new(anthropic, openai))
    }

    pub fn anthropic(&self) -> &AnthropicClient {
        &self.anthropic
    }

    pub fn openai(&self) -> Option<&OpenAiClient> {
        self.openai.as_ref()
    }

    fn route(&self, model: &str) -> Result<Route<'_>, LlmError> {
        if !model.starts_with(MODEL_PREFIX) {
            return Ok(Route::Anthropic(&self.anthropic));
        }
        // The OpenAI client strips the prefix itself, so the request is not copied.
        self.openai.as_ref().map(Route::OpenAi).ok_or_else(|| {
            LlmError::Config(format!(
                "model {model:?} needs an OpenAI-compatible server, but none is configured; \
                 set {OPENAI_BASE_URL_VAR} (e.g. http://localhost:11434/v1) and, if the server needs one, OPENAI_API_KEY"
            ))
        })
    }
}

#[async_trait]
impl ModelClient for ModelRouter {
    async fn stream(&self, request: &ModelRequest) -> Result<EventStream, LlmError> {
        match self.route(&request.model)? {
            Route::Anthropic(client) => client.stream(request).await,
            Route::OpenAi(client) => client.stream(request).await,
        }
    }

    async fn create(&self, request: &ModelRequest) -> Result<AssistantMessage, LlmError> {
        match self.route(&request.model)? {
            Route::Anthropic(client) => client.create(request).await,
            Route::OpenAi(client) => client.create(request).await,
        }
    }

    async fn count_tokens(&self, request: &ModelRequest) -> Result<u64, LlmError> {
        match self.route(&request.model)? {
            Route::Anthropic(client) => client.count_tokens(request).await,
            Route::OpenAi(client) => client.count_tokens(request).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(vars: &'static [(&'static str, &'static str)]) -> ModelRouter {
        ModelRouter::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap()
    }

    #[test]
    fn openai_is_built_only_when_configured() {
        assert!(router(&[]).openai().is_none());
        let configured = router(&[("OPENAI_BASE_URL", "http://localhost:11434/v1")]);
        assert_eq!(
            configured.openai().map(|c| c.config().base_url.as_str()),
            Some("http://localhost:11434/v1")
        );
        assert!(router(&[("OPENAI_API_KEY", "sk-x")]).openai().is_some());
    }

    #[test]
    fn an_unconfigured_openai_model_is_a_config_error_naming_the_variable() {
        let err = router(&[]).route("openai:llama3.1").err().unwrap();
        assert!(
            matches!(&err, LlmError::Config(m) if m.contains("OPENAI_BASE_URL")),
            "{err:?}"
        );
        assert!(!err.is_retryable());
        assert!(matches!(
            router(&[]).route("claude-opus-4-7"),
            Ok(Route::Anthropic(_))
        ));
    }
}
