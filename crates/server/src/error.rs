//! The one API error type: a status, a stable code and a human message,
//! rendered as `{"error": {"code": "...", "message": "..."}}`. Internal
//! details (SQL, paths, stacks) are logged, never returned.

use agentd_core::CoreError;
use agentd_protocol::{ApiError as ApiErrorBody, ErrorBody, ErrorCode};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    /// Seconds for a `Retry-After` header (429 responses).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401; the response carries `WWW-Authenticate: Bearer`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    /// The same error with another status and code (keeps `Retry-After`).
    pub fn with_status(mut self, status: StatusCode, code: ErrorCode) -> Self {
        self.status = status;
        self.code = code;
        self
    }

    /// 429 with `Retry-After` (whole seconds, at least 1).
    pub fn rate_limited(retry_after: std::time::Duration, message: impl Into<String>) -> Self {
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        Self {
            retry_after: Some(secs.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                message,
            )
        }
    }
}

/// 422 `validation_failed`: the body parsed, but a value is out of range.
/// The message starts with the field's path (`budget.tokens: must be …`).
impl From<agentd_protocol::FieldError> for ApiError {
    fn from(e: agentd_protocol::FieldError) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ValidationFailed,
            e.to_string(),
        )
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        let code = e.code();
        let status = match code {
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::ValidationFailed if matches!(e, CoreError::Store(_)) => {
                // Only a value the store cannot hold gets here: well-formed
                // JSON with a number out of range.
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ErrorCode::ValidationFailed | ErrorCode::WorkspaceInvalid | ErrorCode::Unsupported => {
                StatusCode::BAD_REQUEST
            }
            ErrorCode::Conflict | ErrorCode::SessionBusy | ErrorCode::BudgetExceeded => {
                StatusCode::CONFLICT
            }
            ErrorCode::QuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        match &e {
            CoreError::Store(inner @ agentd_store::StoreError::Unavailable(_)) => {
                tracing::warn!(error = %inner, "database unavailable while serving a request");
            }
            CoreError::Store(
                agentd_store::StoreError::NotFound(_)
                | agentd_store::StoreError::Conflict(_)
                | agentd_store::StoreError::Invalid(_),
            ) => {}
            CoreError::Store(inner) => {
                tracing::error!(error = %inner, "storage error while serving a request");
            }
            _ => {}
        }
        let message = e.public_message();
        Self {
            status,
            code,
            message,
            retry_after: None,
        }
    }
}

/// What the caller is told about a storage error. Only an unreachable or
/// busy database invites a retry; a collision or a missing row says what
/// (the store's `Display` names the record, never SQL); anything else is our
/// fault and is logged, not described.
impl From<agentd_store::StoreError> for ApiError {
    fn from(e: agentd_store::StoreError) -> Self {
        Self::from(CoreError::Store(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ApiErrorBody {
                code: self.code,
                message: self.message,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such route")
}

pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        "method not allowed on this route",
    )
}

impl From<agentd_accounts::AccountError> for ApiError {
    fn from(e: agentd_accounts::AccountError) -> Self {
        use agentd_accounts::AccountError;
        match e {
            AccountError::Invalid(m) => ApiError::bad_request(ErrorCode::ValidationFailed, m),
            AccountError::Conflict(what) => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::Conflict,
                format!("{what} already exists"),
            ),
            AccountError::Unauthenticated(m) => ApiError::unauthorized(m),
            AccountError::Refused(m) => ApiError::new(StatusCode::CONFLICT, ErrorCode::Conflict, m),
            AccountError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            AccountError::Store(e) => ApiError::from(e),
            AccountError::Hash(_) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "the password could not be processed",
            ),
        }
    }
}
