//! Connection settings for the Anthropic client, and the secret newtype that
//! keeps API keys out of logs.

use std::time::Duration;

use crate::retry::RetryPolicy;

pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// An API key or bearer token. Debug and Display show only a hint.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn hint(&self) -> String {
        // Short secrets would be mostly revealed by their last four characters.
        let chars: Vec<char> = self.0.chars().collect();
        if chars.len() < 12 {
            return "***".to_owned();
        }
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("***{tail}")
    }
}

impl From<String> for ApiKey {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKey({})", self.hint())
    }
}

impl std::fmt::Display for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.hint())
    }
}

#[derive(Clone, Debug)]
pub struct AnthropicConfig {
    /// Without the `/v1` suffix, e.g. `https://api.anthropic.com`.
    pub base_url: String,
    /// Sent as `x-api-key`.
    pub api_key: Option<ApiKey>,
    /// Sent as `Authorization: Bearer`.
    pub auth_token: Option<ApiKey>,
    pub retry: RetryPolicy,
    /// Longest wait for response headers of a stream, and between two reads of it.
    pub idle_timeout: Duration,
    pub connect_timeout: Duration,
    /// Whole-request limit for non-streaming calls (`create`, `count_tokens`),
    /// which send nothing until the model is done.
    pub request_timeout: Duration,
    /// Joined into the `anthropic-beta` header.
    pub extra_betas: Vec<String>,
}

impl Default for AnthropicConfig {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_key: None,
            auth_token: None,
            retry: RetryPolicy::default(),
            idle_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(600),
            extra_betas: Vec::new(),
        }
    }
}

impl AnthropicConfig {
    /// Defaults plus `ANTHROPIC_API_KEY`, `ANTHROPIC_AUTH_TOKEN` and
    /// `ANTHROPIC_BASE_URL` from the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env) with an injectable lookup (for tests
    /// and for merged config sources). Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        Self {
            base_url: get("ANTHROPIC_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            api_key: get("ANTHROPIC_API_KEY").map(ApiKey::from),
            auth_token: get("ANTHROPIC_AUTH_TOKEN").map(ApiKey::from),
            ..Self::default()
        }
    }

    /// A config for a test server: the fast retry policy and short timeouts.
    pub fn for_tests(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: Some(ApiKey::new("sk-ant-test-key-0000")),
            retry: RetryPolicy::fast(),
            idle_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(5),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_or_display() {
        let key = ApiKey::new("sk-ant-api03-verysecretvalue-WXYZ");
        assert_eq!(format!("{key}"), "***WXYZ");
        assert_eq!(format!("{key:?}"), "ApiKey(***WXYZ)");
        assert_eq!(format!("{}", ApiKey::new("short")), "***");
        let config = AnthropicConfig {
            api_key: Some(key),
            ..AnthropicConfig::default()
        };
        assert!(!format!("{config:?}").contains("verysecret"));
    }

    #[test]
    fn env_lookup_fills_credentials_and_base_url() {
        let config = AnthropicConfig::from_lookup(|name| match name {
            "ANTHROPIC_API_KEY" => Some("sk-1".into()),
            "ANTHROPIC_AUTH_TOKEN" => Some(String::new()),
            _ => None,
        });
        assert_eq!(config.api_key.as_ref().map(ApiKey::expose), Some("sk-1"));
        assert_eq!(config.auth_token, None);
        assert_eq!(config.base_url, DEFAULT_BASE_URL);
    }
}
