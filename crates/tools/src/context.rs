//! Everything a tool call may use besides its input.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::launcher::{DirectLauncher, ProcessLauncher};
use crate::workspace::Workspace;

/// Live output for display while a tool runs; the final result still comes
/// back in [`crate::ToolOutcome`].
pub type OutputSink = tokio::sync::mpsc::UnboundedSender<OutputChunk>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputChunk {
    pub stream: OutputStream,
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// The per-call environment of a tool.
#[derive(Clone)]
pub struct ToolContext {
    pub workspace: Workspace,
    /// Cancelled → the tool stops promptly (bash kills its process group).
    pub cancel: CancellationToken,
    pub output: Option<OutputSink>,
    pub limits: ToolLimits,
    /// Builds every process a tool starts, so a sandbox can wrap it.
    pub launcher: Arc<dyn ProcessLauncher>,
}

impl ToolContext {
    /// A context with default limits, no output sink, a fresh cancellation
    /// token and the [`DirectLauncher`].
    pub fn new(workspace: Workspace) -> Self {
        Self {
            workspace,
            cancel: CancellationToken::new(),
            output: None,
            limits: ToolLimits::default(),
            launcher: Arc::new(DirectLauncher),
        }
    }
}

impl std::fmt::Debug for ToolContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolContext")
            .field("workspace", &self.workspace)
            .field("cancelled", &self.cancel.is_cancelled())
            .field("streams_output", &self.output.is_some())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolLimits {
    /// Used when the model gives no `timeout_ms`.
    pub bash_default_timeout: Duration,
    /// Upper bound on any `timeout_ms` the model asks for.
    pub bash_max_timeout: Duration,
    /// Cap on the characters of any tool's content returned to the model.
    pub max_output_chars: usize,
    /// `read_file` refuses larger files.
    pub max_read_bytes: u64,
    /// `write_file` and `edit_file` refuse to produce larger files.
    pub max_write_bytes: usize,
}

impl Default for ToolLimits {
    fn default() -> Self {
        Self {
            bash_default_timeout: Duration::from_secs(120),
            bash_max_timeout: Duration::from_secs(600),
            max_output_chars: 30_000,
            max_read_bytes: 2 * 1024 * 1024,
            max_write_bytes: 10 * 1024 * 1024,
        }
    }
}
