//! The session engine: sessions, the builtin turn loop, the durable event
//! log writer and the event bus.
//!
//! Architecture invariant: core knows nothing of HTTP (no axum). It turns
//! model stream events into protocol events, appends them to the store and
//! fans them out; the server only translates requests and streams.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod access;
mod approvals;
mod builtin;
mod bus;
mod claude_hooks;
mod claude_runtime;
mod claude_sandbox;
mod cleanup;
mod config;
mod conversation;
mod credentials;
mod dispatch;
mod driver;
mod error;
mod hooks;
mod log;
mod manager;
mod mcp_servers;
mod mcp_session;
mod pause;
mod permission;
mod pull_request;
mod quota;
mod recovery;
mod sample;
mod sandbox;
mod settings;
mod status;
mod task;
mod turn;
mod uploads;
mod workspace;

pub use access::Reach;
pub use bus::{EventBus, PublishedEvent, Subscription};
pub use cleanup::WorkspaceCleanup;
pub use config::{ClaudeSettings, EngineConfig, GitHubSettings, HookSettings};
pub use error::CoreError;
pub use log::LogError;
pub use manager::SessionManager;

/// Checks a Claude Code settings document (`hooks`, `permissions`) as a
/// session or a user would use it: a clear error for invalid rules or hook
/// matchers.
pub fn check_settings(document: &serde_json::Value) -> Result<(), CoreError> {
    settings::parse(document, "settings").map(|_| ())
}
