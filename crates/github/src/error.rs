//! REST errors that say what to do next, decoded from GitHub's status,
//! rate-limit headers and error body. No variant ever holds the token.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, StatusCode};
use serde::Deserialize;

/// How long to wait when GitHub signals a secondary rate limit without
/// saying for how long: its documentation asks for at least a minute.
const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitHubError {
    /// The token is missing, wrong, expired or revoked: ask for a new one.
    #[error("GitHub rejected the credentials (401): {message}")]
    Unauthorized { message: String },
    /// Authenticated, but not allowed (missing scope or repository access).
    #[error("GitHub refused the request (403): {message}")]
    Forbidden { message: String },
    /// The repository, issue or pull request does not exist, or the token
    /// cannot see it (GitHub answers 404 for both).
    #[error("not found on GitHub (404)")]
    NotFound,
    /// Primary or secondary rate limit: try again after `retry_after`.
    #[error("GitHub rate limit reached; retry in {}s", retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    /// 422: the request was understood and refused.
    #[error("GitHub rejected the request (422): {message}")]
    Validation { message: String },
    /// 422 on pull request creation: the head branch has nothing the base
    /// lacks, so there is nothing to review.
    #[error("no commits between the base and head branches")]
    NoDiff,
    /// 5xx: GitHub's side; retrying later may work.
    #[error("GitHub is unavailable ({status})")]
    Unavailable { status: u16 },
    /// A status or body this client does not expect.
    #[error("unexpected response from GitHub ({status}): {message}")]
    Unexpected { status: u16, message: String },
    /// No HTTP response at all (DNS, connect, TLS, timeout).
    #[error("cannot reach GitHub: {message}")]
    Transport { message: String },
    /// The client cannot be built from what it was given.
    #[error("invalid GitHub client settings: {message}")]
    Config { message: String },
}

impl GitHubError {
    /// Whether the same request may succeed later without any change.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            GitHubError::RateLimited { .. }
                | GitHubError::Unavailable { .. }
                | GitHubError::Transport { .. }
        )
    }
}

/// GitHub's error body: `{"message", "documentation_url", "errors"?}`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub errors: Vec<ErrorDetail>,
}

/// An entry of `errors`: usually an object, on a few endpoints a string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum ErrorDetail {
    Object {
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        field: Option<String>,
        #[serde(default)]
        code: Option<String>,
    },
    Text(String),
}

impl ErrorBody {
    pub fn parse(body: &str) -> Self {
        serde_json::from_str(body).unwrap_or_default()
    }

    /// The most specific text available: the detail messages (or
    /// `field code` pairs) when present, else the top-level message.
    pub fn describe(&self) -> String {
        let details: Vec<String> = self
            .errors
            .iter()
            .filter_map(|detail| match detail {
                ErrorDetail::Object {
                    message: Some(message),
                    ..
                } => Some(message.clone()),
                ErrorDetail::Object {
                    message: None,
                    field,
                    code,
                } => match (field, code) {
                    (Some(field), Some(code)) => Some(format!("{field} {code}")),
                    (Some(only), None) | (None, Some(only)) => Some(only.clone()),
                    (None, None) => None,
                },
                ErrorDetail::Text(text) => Some(text.clone()),
            })
            .collect();
        match (details.is_empty(), self.message.is_empty()) {
            (false, _) => details.join("; "),
            (true, false) => self.message.clone(),
            (true, true) => "no error message".into(),
        }
    }

    /// Whether any detail message contains `needle`, ignoring case. GitHub
    /// gives both pull-request 422s the code `custom`, so the message text
    /// is the only thing that tells them apart.
    pub fn mentions(&self, needle: &str) -> bool {
        let needle = needle.to_ascii_lowercase();
        let contains = |text: &str| text.to_ascii_lowercase().contains(&needle);
        contains(&self.message)
            || self.errors.iter().any(|detail| match detail {
                ErrorDetail::Object { message, .. } => message.as_deref().is_some_and(contains),
                ErrorDetail::Text(text) => contains(text),
            })
    }
}

/// Maps a non-success response to an error. 422s come back as
/// `Validation`; callers that know a finer meaning refine them.
pub(crate) fn from_response(status: StatusCode, headers: &HeaderMap, body: &str) -> GitHubError {
    let parsed = ErrorBody::parse(body);
    if let Some(retry_after) = rate_limit_wait(status, headers, &parsed) {
        return GitHubError::RateLimited { retry_after };
    }
    match status.as_u16() {
        401 => GitHubError::Unauthorized {
            message: parsed.describe(),
        },
        403 => GitHubError::Forbidden {
            message: parsed.describe(),
        },
        404 => GitHubError::NotFound,
        422 => GitHubError::Validation {
            message: parsed.describe(),
        },
        code @ 500..=599 => GitHubError::Unavailable { status: code },
        code => GitHubError::Unexpected {
            status: code,
            message: parsed.describe(),
        },
    }
}

/// `Some(wait)` when the response is a rate limit. GitHub signals those
/// with 429, or with 403 plus `x-ratelimit-remaining: 0` (primary) or
/// `retry-after` / a "secondary rate limit" message (secondary).
fn rate_limit_wait(status: StatusCode, headers: &HeaderMap, body: &ErrorBody) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let retry_after = header("retry-after").and_then(|v| v.parse::<u64>().ok());
    let exhausted = header("x-ratelimit-remaining") == Some("0");
    let is_limit = status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::FORBIDDEN
            && (exhausted || retry_after.is_some() || body.mentions("rate limit")));
    if !is_limit {
        return None;
    }
    if let Some(secs) = retry_after {
        return Some(Duration::from_secs(secs));
    }
    if exhausted {
        let reset = header("x-ratelimit-reset").and_then(|v| v.parse::<u64>().ok());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if let Some(reset) = reset {
            // At least a second, so a reset "now" does not spin.
            return Some(Duration::from_secs(reset.saturating_sub(now).max(1)));
        }
    }
    Some(DEFAULT_RATE_LIMIT_WAIT)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn rate_limits_are_told_apart_from_plain_403s() {
        let body = r#"{"message":"Resource not accessible by integration"}"#;
        assert_eq!(
            from_response(StatusCode::FORBIDDEN, &headers(&[]), body),
            GitHubError::Forbidden {
                message: "Resource not accessible by integration".into()
            }
        );
        assert_eq!(
            from_response(
                StatusCode::FORBIDDEN,
                &headers(&[("retry-after", "30")]),
                "{}"
            ),
            GitHubError::RateLimited {
                retry_after: Duration::from_secs(30)
            }
        );
        let secondary = r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#;
        assert_eq!(
            from_response(StatusCode::FORBIDDEN, &headers(&[]), secondary),
            GitHubError::RateLimited {
                retry_after: DEFAULT_RATE_LIMIT_WAIT
            }
        );
        let reset = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 120;
        let primary = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &reset.to_string()),
        ]);
        let GitHubError::RateLimited { retry_after } =
            from_response(StatusCode::FORBIDDEN, &primary, "{}")
        else {
            panic!("rate limit expected");
        };
        assert!(
            (115..=120).contains(&retry_after.as_secs()),
            "{retry_after:?}"
        );
        assert!(from_response(StatusCode::TOO_MANY_REQUESTS, &headers(&[]), "").is_retryable());
    }

    #[test]
    fn validation_messages_prefer_the_details() {
        let body = r#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","field":"head","code":"invalid"},"plain text"],"documentation_url":"x"}"#;
        assert_eq!(
            from_response(StatusCode::UNPROCESSABLE_ENTITY, &headers(&[]), body),
            GitHubError::Validation {
                message: "head invalid; plain text".into()
            }
        );
        assert_eq!(
            from_response(StatusCode::BAD_GATEWAY, &headers(&[]), "<html>"),
            GitHubError::Unavailable { status: 502 }
        );
        assert_eq!(
            from_response(StatusCode::IM_A_TEAPOT, &headers(&[]), "<html>"),
            GitHubError::Unexpected {
                status: 418,
                message: "no error message".into()
            }
        );
    }
}
