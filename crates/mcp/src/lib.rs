//! MCP (Model Context Protocol) servers for the builtin agent loop.
//!
//! This crate owns what a user configures ([`McpServerConfig`], read from and
//! written to the `.mcp.json` format with [`import_mcp_json`] /
//! [`export_mcp_json`]), a client for one server ([`McpConnection`], over a
//! stdio child process or Streamable HTTP, built on `rmcp`), a one-shot
//! [`check`] for health views, and the adapter that exposes a server's tools to
//! the agent loop as ordinary [`agentd_tools::Tool`]s named
//! `mcp__<server>__<tool>` ([`McpTool`], [`McpToolset`]).
//!
//! Architecture invariant: depends on `agentd-tools` for the `Tool` trait and
//! nothing else of agentd; no store, server or llm. Every operation on a server
//! is bounded by a timeout from [`McpTimeouts`]: a server that hangs or dies
//! becomes an [`McpError`], never a stuck session. Commands are spawned
//! directly, never through a shell.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod config;
mod connection;
mod content;
mod error;
mod health;
mod mcp_json;
mod names;
mod stderr;
mod toolset;
mod transport;

pub use config::{McpServerConfig, McpTransport, REDACTED, Secret};
pub use connection::{McpConnection, McpTimeouts, McpToolInfo, ServerIdentity, ToolCallResult};
pub use error::McpError;
pub use health::{HealthReport, check};
pub use mcp_json::{export_mcp_json, import_mcp_json, to_claude_mcp_config};
pub use names::{MAX_TOOL_NAME_LEN, sanitize_tool_name, tool_spec_name};
pub use toolset::{McpTool, McpToolset};
pub use transport::{DirectStdio, StdioCommand};
