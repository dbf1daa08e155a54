//! What can go wrong driving the CLI, each variant saying what to do about it.

use std::path::PathBuf;

use agentd_protocol::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum ClaudeError {
    /// No usable `claude` binary: the server is misconfigured.
    #[error(
        "Claude Code CLI not found ({searched}): install it with \
         `npm i -g @anthropic-ai/claude-code` or set claude_path"
    )]
    NotFound { searched: String },
    /// The binary is older than [`crate::MIN_VERSION`].
    #[error(
        "Claude Code CLI at {} is version {found}, agentd needs {needed} or newer: \
         upgrade it with `npm i -g @anthropic-ai/claude-code@latest`",
        path.display()
    )]
    TooOld {
        path: PathBuf,
        found: String,
        needed: &'static str,
    },
    /// The operating system refused to start the binary.
    #[error("cannot start Claude Code CLI at {}: {source}", path.display())]
    Spawn {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing to the process failed (usually: it just died).
    #[error("cannot talk to the Claude Code process: {0}")]
    Io(#[from] std::io::Error),
    /// The CLI said something we cannot work with.
    #[error("Claude Code protocol error: {0}")]
    Protocol(String),
    /// The process ended before it could do what was asked.
    #[error("Claude Code exited (exit code {}): {}", fmt_code(*code), stderr_tail.trim())]
    Exited {
        code: Option<i32>,
        stderr_tail: String,
    },
}

fn fmt_code(code: Option<i32>) -> String {
    code.map_or_else(|| "none, killed by a signal".to_owned(), |c| c.to_string())
}

impl ClaudeError {
    /// The stable code to report to clients.
    pub fn code(&self) -> ErrorCode {
        match self {
            // Operator problems: the runtime is not available on this server.
            Self::NotFound { .. } | Self::TooOld { .. } | Self::Spawn { .. } => {
                ErrorCode::Unavailable
            }
            // The agent process (our stand-in for the model) went away.
            Self::Io(_) | Self::Exited { .. } => ErrorCode::ModelUnavailable,
            Self::Protocol(_) => ErrorCode::Internal,
        }
    }
}
