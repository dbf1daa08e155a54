//! Connection settings for an OpenAI-compatible server, read from the same
//! variables the official SDK uses.

use std::time::Duration;

use crate::config::ApiKey;
use crate::retry::RetryPolicy;

pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
pub const OPENAI_BASE_URL_VAR: &str = "OPENAI_BASE_URL";
pub const OPENAI_API_KEY_VAR: &str = "OPENAI_API_KEY";

#[derive(Clone, Debug)]
pub struct OpenAiConfig {
    /// With the version suffix, as the SDK takes it: `https://api.openai.com/v1`,
    /// `http://localhost:11434/v1` (Ollama), `http://localhost:8000/v1` (vLLM).
    pub base_url: String,
    /// Sent as `Authorization: Bearer`; local servers usually need none.
    pub api_key: Option<ApiKey>,
    pub retry: RetryPolicy,
    /// Longest wait for response headers of a stream, and between two reads of it.
    pub idle_timeout: Duration,
    pub connect_timeout: Duration,
    /// Whole-request limit for non-streaming `create`, which sends nothing
    /// until the model is done.
    pub request_timeout: Duration,
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_OPENAI_BASE_URL.to_owned(),
            api_key: None,
            retry: RetryPolicy::default(),
            // Local models may load for a while before the first token.
            idle_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(600),
        }
    }
}

impl OpenAiConfig {
    /// Defaults plus `OPENAI_BASE_URL` and `OPENAI_API_KEY` from the process
    /// environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env) with an injectable lookup. Empty
    /// values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        Self {
            base_url: get(OPENAI_BASE_URL_VAR)
                .unwrap_or_else(|| DEFAULT_OPENAI_BASE_URL.to_owned()),
            api_key: get(OPENAI_API_KEY_VAR).map(ApiKey::from),
            ..Self::default()
        }
    }

    /// Whether the lookup names an OpenAI-compatible server at all (either
    /// variable set), which is when agentd builds the client.
    pub fn is_configured(lookup: impl Fn(&str) -> Option<String>) -> bool {
        [OPENAI_BASE_URL_VAR, OPENAI_API_KEY_VAR]
            .iter()
            .any(|name| lookup(name).is_some_and(|value| !value.trim().is_empty()))
    }

    /// A config for a test server: the fast retry policy and short timeouts.
    pub fn for_tests(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: Some(ApiKey::new("sk-openai-test-key-0000")),
            retry: RetryPolicy::fast(),
            idle_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_lookup_reads_the_sdk_variables() {
        let config = OpenAiConfig::from_lookup(|name| match name {
            "OPENAI_BASE_URL" => Some("http://localhost:11434/v1".into()),
            "OPENAI_API_KEY" => Some(String::new()),
            _ => None,
        });
        assert_eq!(config.base_url, "http://localhost:11434/v1");
        assert_eq!(config.api_key, None);
        assert_eq!(
            OpenAiConfig::from_lookup(|_| None).base_url,
            DEFAULT_OPENAI_BASE_URL
        );
    }

    #[test]
    fn configured_means_either_variable_is_non_empty() {
        assert!(!OpenAiConfig::is_configured(|_| None));
        assert!(!OpenAiConfig::is_configured(|_| Some(" ".into())));
        assert!(OpenAiConfig::is_configured(|name| {
            (name == OPENAI_API_KEY_VAR).then(|| "sk-x".to_owned())
        }));
    }

    #[test]
    fn the_key_never_shows_in_debug() {
        let config = OpenAiConfig {
            api_key: Some(ApiKey::new("sk-proj-verysecretvalue-WXYZ")),
            ..OpenAiConfig::default()
        };
        assert!(!format!("{config:?}").contains("verysecret"));
    }
}
