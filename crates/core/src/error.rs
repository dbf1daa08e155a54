//! Engine errors; each maps to one stable API error code.

use agentd_protocol::ErrorCode;
use agentd_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("session not found")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    WorkspaceInvalid(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    Forbidden(String),
    /// Something inside an existing session (a checkpoint, …) is missing.
    #[error("{0}")]
    Missing(String),
    /// Preparing or changing the workspace failed for a reason on our side
    /// (git missing, I/O); the caller's own mistakes are `WorkspaceInvalid`.
    #[error("workspace error: {0}")]
    Workspace(String),
    /// Tools cannot be sandboxed here; the message names the fix.
    #[error("{0}")]
    SandboxUnavailable(String),
    /// The caller is at a session limit (`max_sessions`, `max_running_sessions`).
    #[error("{0}")]
    QuotaExceeded(String),
    /// A paused session cannot resume: it is still over a budget.
    #[error("{0}")]
    BudgetExceeded(String),
    #[error("the engine is shutting down")]
    ShuttingDown,
    /// Something outside agentd it needs is not there right now (GitHub,
    /// the user webhook tasks run as); trying again later may work.
    #[error("{0}")]
    Unavailable(String),
    #[error("storage error: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    EventLog(#[from] crate::event_log::LogError),
}

impl CoreError {
    /// The message for whoever asked (an API caller, a GitHub comment): a
    /// database's own words can name tables and paths, so storage faults
    /// are told in general terms. Whoever answers logs the error in full.
    pub fn public_message(&self) -> String {
        match self {
            Self::Store(StoreError::Unavailable(_)) => {
                "the server could not reach its database; try again".to_owned()
            }
            Self::Store(
                e @ (StoreError::NotFound(_) | StoreError::Conflict(_) | StoreError::Invalid(_)),
            ) => e.to_string(),
            Self::Store(_) => "the server hit an internal storage error (logged)".to_owned(),
            other => other.to_string(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound | Self::Missing(_) => ErrorCode::NotFound,
            Self::Busy(_) => ErrorCode::SessionBusy,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::Workspace(_) => ErrorCode::Unavailable,
            Self::SandboxUnavailable(_) => ErrorCode::SandboxUnavailable,
            Self::QuotaExceeded(_) => ErrorCode::QuotaExceeded,
            Self::BudgetExceeded(_) => ErrorCode::BudgetExceeded,
            Self::Invalid(_) => ErrorCode::ValidationFailed,
            Self::WorkspaceInvalid(_) => ErrorCode::WorkspaceInvalid,
            Self::Unsupported(_) => ErrorCode::Unsupported,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::ShuttingDown | Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Store(StoreError::NotFound(_)) => ErrorCode::NotFound,
            Self::Store(StoreError::Conflict(_)) => ErrorCode::Conflict,
            // A value the schema cannot hold came from the caller (a number
            // above i64::MAX, …): their request is wrong, trying again won't
            // help.
            Self::Store(StoreError::Invalid(_)) => ErrorCode::ValidationFailed,
            Self::Store(StoreError::Unavailable(_)) | Self::EventLog(_) => ErrorCode::Unavailable,
            // Corrupt rows, schema mismatches, migrations, configuration: our
            // fault, and not one that retrying fixes.
            Self::Store(
                StoreError::Corrupt(_)
                | StoreError::Database(_)
                | StoreError::Migration(_)
                | StoreError::Config(_),
            ) => ErrorCode::Internal,
        }
    }
}

impl From<agentd_workspace::WorkspaceError> for CoreError {
    fn from(e: agentd_workspace::WorkspaceError) -> Self {
        if e.is_caller_error() {
            Self::WorkspaceInvalid(e.to_string())
        } else {
            Self::Workspace(e.to_string())
        }
    }
}
