//! Persistence for agentd: users, tokens, encrypted per-user credentials,
//! linked identities and the audit log; sessions, their append-only event log, the model
//! transcript and the durable input queue, on SQLite (the embedded default, a
//! file in the data directory) or PostgreSQL, behind one [`Store`].
//!
//! Both backends share one schema shape (timestamps as unix milliseconds,
//! JSON as text, enums as their wire strings) and one set of SQL statements;
//! only the numbered migrations are per backend (`migrations/sqlite`,
//! `migrations/postgres`).
//!
//! Architecture invariant: depends on `protocol` and sqlx only; never on the
//! model clients, tools or the server.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod audit;
mod convert;
pub mod credentials;
mod error;
mod events;
mod github;
mod idempotency;
mod identities;
mod inputs;
mod mcp_servers;
mod migrations;
mod owner_lock;
mod quotas;
mod sessions;
mod shares;
mod store;
pub mod testing;
mod tokens;
mod transcript;
mod user_settings;
mod users;

pub use audit::{AuditFilter, NewAuditEntry};
pub use convert::truncate_to_ms;
pub use credentials::{CredentialVault, MasterKey, MasterKeyError, Secret};
pub use error::StoreError;
pub(crate) use error::write_error;
pub use events::BatchWrites;
pub use github::TaskReply;
pub use idempotency::{IdempotencyClaim, StoredResponse};
pub use identities::{IdentityRecord, OAuthState};
pub use inputs::InputRecord;
pub use mcp_servers::{McpServerRecord, McpServerSecrets};
pub use owner_lock::OwnerLock;
pub use sessions::SessionRecord;
pub use shares::ShareRecord;
pub use store::{Backend, Store};
pub use tokens::{TokenKind, TokenRecord};
pub use transcript::{TranscriptEntry, TranscriptWrite};
pub use user_settings::UserSettingsRecord;
pub use users::{LoginFailures, UserRecord};
