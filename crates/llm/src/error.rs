//! The one error type of this crate. Each variant tells the caller what to do
//! (retry or not, and when) so nobody has to parse messages.

use std::time::Duration;

use agentd_protocol::ErrorCode;
use serde::{Deserialize, Serialize};

/// Everything a model call can fail with.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// The API answered with a non-2xx status.
    #[error("model API error {status} ({kind}): {message}")]
    Api {
        status: u16,
        kind: ApiErrorKind,
        message: String,
        request_id: Option<String>,
        /// Decided once, from the status and `x-should-retry` (PROTOCOLS §1.9).
        retryable: bool,
        /// The server's `retry-after-ms` / `retry-after` hint, if any.
        retry_after: Option<Duration>,
    },
    /// An `event: error` arrived after the HTTP 200 (e.g. overloaded_error).
    #[error("model stream error ({kind}): {message}")]
    Stream { kind: ApiErrorKind, message: String },
    /// The connection closed before `message_stop`.
    #[error("model stream ended before message_stop")]
    StreamEnded,
    /// No bytes arrived for this long.
    #[error("model stream idle for {0:?}")]
    IdleTimeout(Duration),
    /// Connect, reset, TLS and similar failures below HTTP.
    #[error("model transport error: {0}")]
    Transport(String),
    /// A malformed SSE frame or JSON payload.
    #[error("model response could not be decoded: {0}")]
    Decode(String),
    /// Our own configuration is wrong; retrying cannot help.
    #[error("model client configuration error: {0}")]
    Config(String),
}

impl LlmError {
    /// Whether sending the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Api { retryable, .. } => *retryable,
            Self::Stream { kind, .. } => kind.is_transient(),
            Self::StreamEnded | Self::IdleTimeout(_) | Self::Transport(_) | Self::Decode(_) => true,
            Self::Config(_) => false,
        }
    }

    /// The server's requested wait before a retry, if it gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api { retry_after, .. } => *retry_after,
            Self::Stream { .. }
            | Self::StreamEnded
            | Self::IdleTimeout(_)
            | Self::Transport(_)
            | Self::Decode(_)
            | Self::Config(_) => None,
        }
    }

    /// True for the 400 the API sends when the prompt no longer fits.
    pub fn is_context_window_exceeded(&self) -> bool {
        match self {
            // The API has no dedicated error type for this; the message is the
            // only signal (e.g. "prompt is too long: 201234 tokens > 200000 maximum").
            Self::Api {
                kind: ApiErrorKind::InvalidRequest,
                message,
                ..
            } => message.to_ascii_lowercase().contains("prompt is too long"),
            _ => false,
        }
    }

    /// The stable agentd error code for this failure.
    pub fn code(&self) -> ErrorCode {
        if self.is_context_window_exceeded() {
            return ErrorCode::ContextWindowExceeded;
        }
        match self {
            Self::Api { status, kind, .. } => kind.code(*status),
            Self::Stream { kind, .. } => match kind {
                ApiErrorKind::Other(_) => ErrorCode::ModelStreamInterrupted,
                known => known.code(200),
            },
            Self::StreamEnded | Self::Decode(_) => ErrorCode::ModelStreamInterrupted,
            Self::IdleTimeout(_) => ErrorCode::ModelTimeout,
            Self::Transport(_) => ErrorCode::ModelUnavailable,
            Self::Config(_) => ErrorCode::Internal,
        }
    }
}

/// The API's `error.type`, plus `Other` for anything newer than this code.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ApiErrorKind {
    InvalidRequest,
    Authentication,
    Permission,
    NotFound,
    RequestTooLarge,
    RateLimit,
    Api,
    Overloaded,
    Billing,
    Timeout,
    Other(String),
}

impl ApiErrorKind {
    /// The wire spelling (`overloaded_error`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request_error",
            Self::Authentication => "authentication_error",
            Self::Permission => "permission_error",
            Self::NotFound => "not_found_error",
            Self::RequestTooLarge => "request_too_large",
            Self::RateLimit => "rate_limit_error",
            Self::Api => "api_error",
            Self::Overloaded => "overloaded_error",
            Self::Billing => "billing_error",
            Self::Timeout => "timeout_error",
            Self::Other(other) => other,
        }
    }

    /// The kind implied by a bare status, for bodies that are not API errors
    /// (a proxy's 502 page, Cloudflare's 413).
    pub fn from_status(status: u16) -> Self {
        match status {
            400 => Self::InvalidRequest,
            401 => Self::Authentication,
            402 => Self::Billing,
            403 => Self::Permission,
            404 => Self::NotFound,
            408 | 504 => Self::Timeout,
            413 => Self::RequestTooLarge,
            429 => Self::RateLimit,
            529 => Self::Overloaded,
            500..=599 => Self::Api,
            other => Self::Other(format!("http_{other}")),
        }
    }

    /// Kinds that describe a passing server condition rather than a bad request.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Overloaded | Self::Api | Self::RateLimit | Self::Timeout => true,
            Self::InvalidRequest
            | Self::Authentication
            | Self::Permission
            | Self::NotFound
            | Self::RequestTooLarge
            | Self::Billing
            | Self::Other(_) => false,
        }
    }

    fn code(&self, status: u16) -> ErrorCode {
        match self {
            Self::InvalidRequest => ErrorCode::ModelInvalidRequest,
            Self::Authentication => ErrorCode::ModelAuthentication,
            Self::Permission => ErrorCode::ModelPermission,
            Self::NotFound => ErrorCode::ModelNotFound,
            Self::RequestTooLarge => ErrorCode::PayloadTooLarge,
            Self::RateLimit => ErrorCode::ModelRateLimited,
            Self::Api => ErrorCode::ModelServerError,
            Self::Overloaded => ErrorCode::ModelOverloaded,
            Self::Billing => ErrorCode::ModelBilling,
            Self::Timeout => ErrorCode::ModelTimeout,
            Self::Other(_) if status >= 500 => ErrorCode::ModelServerError,
            Self::Other(_) => ErrorCode::ModelInvalidRequest,
        }
    }
}

impl From<String> for ApiErrorKind {
    fn from(wire: String) -> Self {
        match wire.as_str() {
            "invalid_request_error" => Self::InvalidRequest,
            "authentication_error" => Self::Authentication,
            "permission_error" => Self::Permission,
            "not_found_error" => Self::NotFound,
            "request_too_large" => Self::RequestTooLarge,
            "rate_limit_error" => Self::RateLimit,
            "api_error" => Self::Api,
            "overloaded_error" => Self::Overloaded,
            "billing_error" => Self::Billing,
            "timeout_error" => Self::Timeout,
            _ => Self::Other(wire),
        }
    }
}

impl From<ApiErrorKind> for String {
    fn from(kind: ApiErrorKind) -> Self {
        kind.as_str().to_owned()
    }
}

impl std::fmt::Display for ApiErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The API's error body: `{"type":"error","error":{"type","message"},"request_id"}`.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ErrorResponse {
    pub error: ErrorDetail,
    #[serde(default)]
    pub request_id: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ErrorDetail {
    #[serde(rename = "type")]
    pub kind: ApiErrorKind,
    #[serde(default)]
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, kind: ApiErrorKind, message: &str) -> LlmError {
        LlmError::Api {
            status,
            kind,
            message: message.into(),
            request_id: None,
            retryable: false,
            retry_after: None,
        }
    }

    #[test]
    fn kinds_round_trip_through_their_wire_names() {
        for wire in ["overloaded_error", "invalid_request_error", "something_new"] {
            let kind: ApiErrorKind = serde_json::from_value(serde_json::json!(wire)).unwrap();
            assert_eq!(serde_json::to_value(&kind).unwrap(), wire);
        }
        assert_eq!(
            ApiErrorKind::from("something_new".to_owned()),
            ApiErrorKind::Other("something_new".into())
        );
    }

    #[test]
    fn codes_follow_the_kind() {
        assert_eq!(
            api(400, ApiErrorKind::InvalidRequest, "bad").code(),
            ErrorCode::ModelInvalidRequest
        );
        assert_eq!(
            api(529, ApiErrorKind::Overloaded, "x").code(),
            ErrorCode::ModelOverloaded
        );
        assert_eq!(
            api(401, ApiErrorKind::Authentication, "x").code(),
            ErrorCode::ModelAuthentication
        );
        assert_eq!(
            api(413, ApiErrorKind::RequestTooLarge, "x").code(),
            ErrorCode::PayloadTooLarge
        );
        assert_eq!(
            api(502, ApiErrorKind::Other("x".into()), "x").code(),
            ErrorCode::ModelServerError
        );
        assert_eq!(
            LlmError::StreamEnded.code(),
            ErrorCode::ModelStreamInterrupted
        );
    }

    #[test]
    fn a_too_long_prompt_is_a_context_window_error() {
        let err = api(
            400,
            ApiErrorKind::InvalidRequest,
            "prompt is too long: 210000 tokens > 200000 maximum",
        );
        assert_eq!(err.code(), ErrorCode::ContextWindowExceeded);
        assert!(!err.is_retryable());
    }

    #[test]
    fn mid_stream_errors_are_retryable_only_when_transient() {
        let overloaded = LlmError::Stream {
            kind: ApiErrorKind::Overloaded,
            message: "Overloaded".into(),
        };
        assert!(overloaded.is_retryable());
        assert_eq!(overloaded.code(), ErrorCode::ModelOverloaded);
        let invalid = LlmError::Stream {
            kind: ApiErrorKind::InvalidRequest,
            message: "x".into(),
        };
        assert!(!invalid.is_retryable());
        assert!(!LlmError::Config("x".into()).is_retryable());
        assert!(LlmError::Decode("x".into()).is_retryable());
    }
}
