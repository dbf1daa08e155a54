//! `read_file`: a text file with line numbers, like `cat -n`.

use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::json;

use super::{looks_binary, object_schema, parse_and_run};
use crate::context::{ToolContext, ToolLimits};
use crate::tool::{Tool, ToolOutcome, ToolSpec};
use crate::truncate::truncate_output;
use crate::workspace::Workspace;

const NAME: &str = "read_file";
/// Minified or generated lines are cut so one line cannot eat the whole budget.
const MAX_LINE_CHARS: usize = 2_000;

pub struct ReadFile;

#[derive(Debug, Deserialize)]
struct Input {
    path: String,
    offset: Option<u64>,
    limit: Option<u64>,
}

#[async_trait::async_trait]
impl Tool for ReadFile {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: NAME.to_owned(),
            description: "Read a text file in the workspace. Lines are prefixed with their \
                          1-based line number and a tab. Use offset and limit to read part of \
                          a long file."
                .to_owned(),
            input_schema: object_schema(
                json!({
                    "path": {"type": "string", "description": "File path, relative to the workspace root or absolute inside it."},
                    "offset": {"type": "integer", "minimum": 1, "description": "First line to read (1-based). Default 1."},
                    "limit": {"type": "integer", "minimum": 1, "description": "Maximum number of lines to read. Default: to the end of the file."},
                }),
                &["path"],
            ),
        }
    }

    async fn call(&self, input: serde_json::Value, ctx: &ToolContext) -> ToolOutcome {
        parse_and_run(NAME, input, ctx, |ws, ctx, input: Input| {
            read(ws, &ctx.limits, &input)
        })
        .await
    }
}

fn read(ws: &Workspace, limits: &ToolLimits, input: &Input) -> Result<ToolOutcome, ToolOutcome> {
    let shown = &input.path;
    let path = ws.resolve_existing(shown)?;
    let meta = std::fs::metadata(&path)
        .map_err(|err| ToolOutcome::error(format!("cannot read {shown}: {err}")))?;
    if meta.is_dir() {
        return Err(ToolOutcome::error(format!(
            "{shown} is a directory; use the list tool to see its contents"
        )));
    }
    if meta.len() > limits.max_read_bytes {
        return Err(ToolOutcome::error(format!(
            "{shown} is {} bytes, above the read limit of {} bytes; use grep to find the \
             relevant lines, or bash (e.g. sed -n '100,200p') to read part of it",
            meta.len(),
            limits.max_read_bytes
        )));
    }
    let bytes = std::fs::read(&path)
        .map_err(|err| ToolOutcome::error(format!("cannot read {shown}: {err}")))?;
    if looks_binary(&bytes) {
        return Err(ToolOutcome::error(format!(
            "{shown} appears to be a binary file ({} bytes); read_file only shows text",
            bytes.len()
        )));
    }
    let text = String::from_utf8_lossy(&bytes);
    if text.is_empty() {
        return Ok(ToolOutcome::ok(format!("{shown} is empty")));
    }
    if input.limit == Some(0) {
        return Err(ToolOutcome::error("limit must be at least 1"));
    }
    Ok(number_lines(&text, input, limits.max_output_chars))
}

/// Formats the requested window, stopping early (with a note saying how to
/// continue) once the output budget is used up.
fn number_lines(text: &str, input: &Input, max_chars: usize) -> ToolOutcome {
    let lines: Vec<&str> = text.lines().collect();
    let total = lines.len();
    // Models often send 0 for "from the start"; treat it as line 1.
    let start = usize::try_from(input.offset.unwrap_or(1).max(1)).unwrap_or(usize::MAX);
    if start > total {
        return ToolOutcome::error(format!(
            "offset {start} is past the end of {}, which has {total} lines",
            input.path
        ));
    }
    let wanted = input
        .limit
        .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    let end = total.min(start.saturating_sub(1).saturating_add(wanted));
    let mut out = String::new();
    let mut out_chars = 0;
    let mut last_shown = start - 1;
    for (index, line) in lines.iter().enumerate().take(end).skip(start - 1) {
        let line = truncate_output(line, MAX_LINE_CHARS);
        let numbered = format!("{:>6}\t{line}\n", index + 1);
        let chars = numbered.chars().count();
        if out_chars + chars > max_chars && last_shown >= start {
            break;
        }
        out.push_str(&numbered);
        out_chars += chars;
        last_shown = index + 1;
    }
    if last_shown < total {
        let _ = write!(
            out,
            "\n(showing lines {start}-{last_shown} of {total}; use offset={} to read more)",
            last_shown + 1
        );
    }
    ToolOutcome::ok(out)
}
