//! Stable error codes and the one error envelope of the API:
//! `{"error": {"code": "...", "message": "..."}}`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Machine-readable error codes. Clients may match on these; they never
/// change meaning once published.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // Request errors.
    BadRequest,
    InvalidJson,
    ValidationFailed,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    Unauthorized,
    Forbidden,
    RateLimited,
    Internal,
    Unavailable,
    /// An `Idempotency-Key` was reused with a different request.
    IdempotencyKeyReused,
    /// The input would take more work than one request may (rendering
    /// past its time budget); sending it again will not help.
    TooComplex,
    // Session errors.
    SessionBusy,
    WorkspaceInvalid,
    Unsupported,
    // Model errors (events and API).
    ModelInvalidRequest,
    ModelAuthentication,
    ModelPermission,
    ModelNotFound,
    ModelRateLimited,
    ModelOverloaded,
    ModelServerError,
    ModelUnavailable,
    ModelTimeout,
    ModelStreamInterrupted,
    ModelBilling,
    ContextWindowExceeded,
    // Turn errors.
    MaxTurnsReached,
    ToolFailed,
    Interrupted,
    CheckpointFailed,
    SandboxUnavailable,
    // Quotas.
    QuotaExceeded,
    BudgetExceeded,
    // Workspace file errors.
    PathOutsideWorkspace,
    PathProtected,
    NotAFile,
    NotADirectory,
    ShareExpired,
    // Webhook errors.
    /// A webhook delivery's signature is missing, malformed or wrong.
    InvalidSignature,
    /// The webhook route is off: no secret is configured.
    WebhookNotConfigured,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::InvalidJson => "invalid_json",
            Self::ValidationFailed => "validation_failed",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::RateLimited => "rate_limited",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::TooComplex => "too_complex",
            Self::SessionBusy => "session_busy",
            Self::WorkspaceInvalid => "workspace_invalid",
            Self::Unsupported => "unsupported",
            Self::ModelInvalidRequest => "model_invalid_request",
            Self::ModelAuthentication => "model_authentication",
            Self::ModelPermission => "model_permission",
            Self::ModelNotFound => "model_not_found",
            Self::ModelRateLimited => "model_rate_limited",
            Self::ModelOverloaded => "model_overloaded",
            Self::ModelServerError => "model_server_error",
            Self::ModelUnavailable => "model_unavailable",
            Self::ModelTimeout => "model_timeout",
            Self::ModelStreamInterrupted => "model_stream_interrupted",
            Self::ModelBilling => "model_billing",
            Self::ContextWindowExceeded => "context_window_exceeded",
            Self::MaxTurnsReached => "max_turns_reached",
            Self::ToolFailed => "tool_failed",
            Self::Interrupted => "interrupted",
            Self::CheckpointFailed => "checkpoint_failed",
            Self::SandboxUnavailable => "sandbox_unavailable",
            Self::QuotaExceeded => "quota_exceeded",
            Self::BudgetExceeded => "budget_exceeded",
            Self::PathOutsideWorkspace => "path_outside_workspace",
            Self::PathProtected => "path_protected",
            Self::NotAFile => "not_a_file",
            Self::NotADirectory => "not_a_directory",
            Self::ShareExpired => "share_expired",
            Self::InvalidSignature => "invalid_signature",
            Self::WebhookNotConfigured => "webhook_not_configured",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every error response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ApiError,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_serde_spelling() {
        for code in [
            ErrorCode::ModelOverloaded,
            ErrorCode::SessionBusy,
            ErrorCode::InvalidJson,
            ErrorCode::TooComplex,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }
}
