//! The public contract of agentd: identifiers, the event vocabulary, API
//! request/response shapes and stable error codes.
//!
//! Architecture invariant: this crate is plain data. It depends on serde and
//! utoipa (for the OpenAPI schema) only, never on tokio, an HTTP stack or a
//! database, so every other crate (and external clients) can use it.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod api;
pub mod auth;
pub mod error;
pub mod event;
pub mod files;
pub mod ids;
pub mod mcp;
pub mod session;
pub mod usage;
pub mod validate;
pub mod webhook;

pub use api::*;
pub use auth::{
    AuditEntry, AuditPage, CreateTokenRequest, CreateUserRequest, CreatedToken, CredentialList,
    CredentialProvider, CredentialView, LoginRequest, Me, PutCredentialRequest, RefreshRequest,
    Scope, Ticket, TokenList, TokenPair, TokenView, UserList, UserRole, UserView, WebSession,
};
pub use error::{ApiError, ErrorBody, ErrorCode};
pub use event::{EventData, EventEnvelope};
pub use files::{
    CreateShareRequest, CreatedShare, FileEntry, FileKind, FileList, ShareList, ShareView,
    UploadedFile,
};
pub use ids::SessionId;
pub use mcp::{
    McpCheckResult, McpImportResult, McpServerInput, McpServerList, McpServerView, McpToolView,
    McpTransportKind, SessionMcpServer,
};
pub use session::{
    PermissionMode, Runtime, SessionStatus, SessionView, TurnStopReason, WorkspaceSpec,
};
pub use usage::{
    BudgetExceeded, BudgetMetric, BudgetScope, Limits, QuotaView, SessionBudget, Usage, UsageList,
    UsageWindow, UserUsage,
};
pub use validate::{FieldError, Validate};
pub use webhook::{WebhookAck, WebhookOutcome};
