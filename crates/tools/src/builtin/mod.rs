//! The built-in tools. Each lives in its own module with its input type and
//! schema; shared plumbing (blocking execution, binary detection, walking)
//! lives here and in `walk`.

use std::sync::Arc;

use crate::context::ToolContext;
use crate::tool::{Tool, ToolOutcome};
use crate::workspace::{PathError, Workspace};

mod bash;
mod edit_file;
mod glob;
mod grep;
mod list;
mod read_file;
mod walk;
mod write_file;

pub use bash::Bash;
pub use edit_file::EditFile;
pub use glob::Glob;
pub use grep::Grep;
pub use list::List;
pub use read_file::ReadFile;
pub use write_file::WriteFile;

pub(crate) fn all() -> Vec<Arc<dyn Tool>> {
    vec![
        Arc::new(Bash),
        Arc::new(EditFile),
        Arc::new(Glob),
        Arc::new(Grep),
        Arc::new(List),
        Arc::new(ReadFile),
        Arc::new(WriteFile),
    ]
}

/// How much of a file's start is inspected to decide it is binary; the same
/// heuristic git and ripgrep use (a NUL byte).
const BINARY_SNIFF_BYTES: usize = 8 * 1024;

pub(crate) fn looks_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_SNIFF_BYTES)].contains(&0)
}

impl From<PathError> for ToolOutcome {
    fn from(err: PathError) -> Self {
        ToolOutcome::error(err.to_string())
    }
}

/// Runs synchronous filesystem work off the async runtime's worker threads.
pub(crate) async fn run_blocking(
    work: impl FnOnce() -> ToolOutcome + Send + 'static,
) -> ToolOutcome {
    match tokio::task::spawn_blocking(work).await {
        Ok(outcome) => outcome,
        Err(err) => {
            tracing::error!(error = %err, "tool task failed");
            ToolOutcome::error("internal error: the tool failed unexpectedly")
        }
    }
}

/// The body every filesystem tool shares: parse the input (a clear error
/// for the model when it does not fit the schema), then run `work` off the
/// async workers with the workspace and a snapshot of the context.
pub(crate) async fn parse_and_run<I>(
    name: &str,
    input: serde_json::Value,
    ctx: &ToolContext,
    work: impl FnOnce(&Workspace, &ToolContext, I) -> Result<ToolOutcome, ToolOutcome> + Send + 'static,
) -> ToolOutcome
where
    I: serde::de::DeserializeOwned + Send + 'static,
{
    let input: I = match crate::input::parse(name, input) {
        Ok(input) => input,
        Err(outcome) => return outcome,
    };
    let ctx = ctx.clone();
    run_blocking(move || flatten(work(&ctx.workspace, &ctx, input))).await
}

/// Lets tool bodies use `?` on `Result<_, ToolOutcome>`.
pub(crate) fn flatten(result: Result<ToolOutcome, ToolOutcome>) -> ToolOutcome {
    result.unwrap_or_else(|err| err)
}

/// Schema of an object with these properties; `required` lists mandatory ones.
pub(crate) fn object_schema(properties: serde_json::Value, required: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}
