//! `bash`: run a shell command in the workspace.

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::object_schema;
use crate::context::ToolContext;
use crate::input;
use crate::tool::{Tool, ToolOutcome, ToolSpec};

mod decode;
mod process;

use process::{Ending, Finished};

const NAME: &str = "bash";

pub struct Bash;

#[derive(Debug, Deserialize)]
struct Input {
    command: String,
    timeout_ms: Option<u64>,
}

#[async_trait::async_trait]
impl Tool for Bash {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: NAME.to_owned(),
            description: "Run a command with `bash -c` in the workspace root. stdout and \
                          stderr are returned together, followed by the exit code; long \
                          output keeps its beginning and end. Background processes the \
                          command starts are stopped when it finishes. stdin is empty."
                .to_owned(),
            input_schema: object_schema(
                json!({
                    "command": {"type": "string", "description": "The shell command to run."},
                    "timeout_ms": {"type": "integer", "minimum": 1, "description": "Kill the command after this many milliseconds. Default 120000, at most 600000."},
                }),
                &["command"],
            ),
        }
    }

    async fn call(&self, input: serde_json::Value, ctx: &ToolContext) -> ToolOutcome {
        let input: Input = match input::parse(NAME, input) {
            Ok(input) => input,
            Err(outcome) => return outcome,
        };
        if input.command.trim().is_empty() {
            return ToolOutcome::error("command is empty");
        }
        let timeout = match input.timeout_ms {
            None => ctx.limits.bash_default_timeout,
            Some(0) => return ToolOutcome::error("timeout_ms must be at least 1"),
            Some(ms) => Duration::from_millis(ms).min(ctx.limits.bash_max_timeout),
        };
        if ctx.cancel.is_cancelled() {
            return ToolOutcome::error("command cancelled before it started");
        }
        match process::run(&input.command, timeout, ctx).await {
            Ok(finished) => outcome(finished, timeout),
            Err(err) => ToolOutcome::error(format!("failed to start bash: {err}")),
        }
    }
}

/// Output first, then what happened: the model reads the verdict last.
fn outcome(finished: Finished, timeout: Duration) -> ToolOutcome {
    let Finished {
        ending,
        mut output,
        killed_leftovers,
    } = finished;
    if !output.is_empty() && !output.ends_with('\n') {
        output.push('\n');
    }
    if killed_leftovers {
        output.push_str("note: background processes still writing output were stopped\n");
    }
    let (verdict, is_error) = match ending {
        Ending::Exited(status) => match (status.code(), status.signal()) {
            (Some(code), _) => (format!("exit code: {code}"), code != 0),
            (None, Some(signal)) => (format!("terminated by signal {signal}"), true),
            (None, None) => ("exited with an unknown status".to_owned(), true),
        },
        Ending::TimedOut => (
            format!(
                "command timed out after {} and was killed",
                describe(timeout)
            ),
            true,
        ),
        Ending::Cancelled => (
            "command cancelled; its processes were killed".to_owned(),
            true,
        ),
    };
    output.push_str(&verdict);
    ToolOutcome {
        content: output,
        is_error,
        changes: Vec::new(),
    }
}

fn describe(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}
