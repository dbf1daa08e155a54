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
mod claude_runtime;
mod config;
mod conversation;
mod credentials;
mod dispatch;
mod driver;
mod error;
mod log;
mod manager;
mod mcp_servers;
mod mcp_session;
mod permission;
mod recovery;
mod sample;
mod sandbox;
mod status;
mod task;
mod turn;
mod workspace;

pub use access::Reach;
pub use bus::{EventBus, PublishedEvent};
pub use config::{ClaudeSettings, EngineConfig, GitHubSettings};
pub use error::CoreError;
pub use log::LogError;
pub use manager::SessionManager;
