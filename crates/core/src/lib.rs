//! The session engine: sessions, the turns that run them, the durable event
//! log writer and the event bus.
//!
//! Architecture invariant: core knows nothing of HTTP (no axum). It turns
//! model stream events into protocol events, appends them to the store and
//! fans them out; the server only translates requests and streams.
//!
//! Dependencies run one way: `manager` (the public API) → `session` (live
//! sessions, the engine side of the turn seam) → `turn` (one turn, through
//! `SessionHost` and its `RunnerKit`) → `services`. `claude` is the
//! claude-code runtime inside a turn; `owner` holds what belongs to a user.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod bus;
mod claude;
mod config;
mod engine_state;
mod error;
mod event_log;
mod manager;
mod owner;
mod sandbox;
mod services;
mod session;
mod turn;

pub use bus::{PublishedEvent, Subscription};
pub use config::{ClaudeSettings, EngineConfig, GitHubSettings, HookSettings};
pub use error::CoreError;
pub use event_log::LogError;
pub use manager::{
    DEFAULT_CLONE_URL, GitHubWebhooks, Handled as WebhookHandled, Reach, SessionManager,
    WorkspaceCleanup,
};

/// Checks a Claude Code settings document (`hooks`, `permissions`) as a
/// session or a user would use it: a clear error for invalid rules or hook
/// matchers.
pub fn check_settings(document: &serde_json::Value) -> Result<(), CoreError> {
    session::settings::parse(document, "settings").map(|_| ())
}
