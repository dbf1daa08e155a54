//! What can go wrong with an MCP server, phrased as what the caller should do.

use std::time::Duration;

/// An MCP failure. Each variant names the server (where there is one) so a
/// message shown to a user or a model says which server is at fault.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// The configuration is wrong; nothing was started. Fix the config.
    #[error("invalid MCP server config{}: {reason}", server_suffix(.server))]
    InvalidConfig {
        server: Option<String>,
        reason: String,
    },

    /// The 2024-11-05 HTTP+SSE transport: rmcp deliberately does not implement
    /// it, so the entry has to move to `"type": "http"` (Streamable HTTP).
    #[error(
        "MCP server `{server}`: legacy SSE transport is not supported; use \"type\": \"http\" (Streamable HTTP) if the server offers it"
    )]
    LegacySse { server: String },

    /// The command could not be started (missing binary, not executable).
    #[error("MCP server `{server}`: cannot start `{command}`: {source}")]
    Spawn {
        server: String,
        command: String,
        #[source]
        source: std::io::Error,
    },

    /// The server started (or the URL was reachable) but the MCP handshake
    /// failed. `stderr` holds the tail of a stdio server's error output.
    #[error("MCP server `{server}`: connection failed: {reason}{}", stderr_suffix(.stderr))]
    Connect {
        server: String,
        reason: String,
        stderr: Option<String>,
    },

    /// The server did not answer in time. Retrying may help; a server that
    /// never answers `initialize` is misconfigured.
    #[error("MCP server `{server}`: {operation} timed out after {}", fmt_duration(*.after))]
    Timeout {
        server: String,
        operation: &'static str,
        after: Duration,
    },

    /// The connection is gone (process exited, session closed). Reconnect.
    #[error("MCP server `{server}`: connection closed{}", stderr_suffix(.stderr))]
    Closed {
        server: String,
        stderr: Option<String>,
    },

    /// The server answered with an error (unknown tool, bad arguments).
    #[error("MCP server `{server}`: {message}")]
    Server { server: String, message: String },

    /// The caller gave arguments that cannot be sent (not a JSON object).
    #[error("MCP server `{server}`: invalid arguments for `{tool}`: {reason}")]
    InvalidArguments {
        server: String,
        tool: String,
        reason: String,
    },
}

impl McpError {
    pub(crate) fn config(server: Option<&str>, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            server: server.map(str::to_owned),
            reason: reason.into(),
        }
    }

    /// The server this error is about, when there is one.
    pub fn server(&self) -> Option<&str> {
        match self {
            Self::InvalidConfig { server, .. } => server.as_deref(),
            Self::LegacySse { server }
            | Self::Spawn { server, .. }
            | Self::Connect { server, .. }
            | Self::Timeout { server, .. }
            | Self::Closed { server, .. }
            | Self::Server { server, .. }
            | Self::InvalidArguments { server, .. } => Some(server),
        }
    }
}

fn server_suffix(server: &Option<String>) -> String {
    server
        .as_deref()
        .map(|name| format!(" `{name}`"))
        .unwrap_or_default()
}

fn stderr_suffix(stderr: &Option<String>) -> String {
    match stderr.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => format!("; server stderr:\n{text}"),
        _ => String::new(),
    }
}

fn fmt_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}
