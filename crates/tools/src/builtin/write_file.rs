//! `write_file`: create or overwrite a file.

use std::io;
use std::path::Path;

use serde::Deserialize;
use serde_json::json;

use super::{object_schema, parse_and_run};
use crate::context::{ToolContext, ToolLimits};
use crate::diff::line_counts;
use crate::tool::{ChangeKind, FileChange, Tool, ToolOutcome, ToolSpec};
use crate::workspace::Workspace;

const NAME: &str = "write_file";

pub struct WriteFile;

#[derive(Debug, Deserialize)]
struct Input {
    path: String,
    content: String,
}

#[async_trait::async_trait]
impl Tool for WriteFile {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: NAME.to_owned(),
            description: "Write a file in the workspace, replacing it if it exists. Missing \
                          parent directories are created. Prefer edit_file for changing part \
                          of an existing file."
                .to_owned(),
            input_schema: object_schema(
                json!({
                    "path": {"type": "string", "description": "File path, relative to the workspace root or absolute inside it."},
                    "content": {"type": "string", "description": "The complete new content of the file."},
                }),
                &["path", "content"],
            ),
        }
    }

    async fn call(&self, input: serde_json::Value, ctx: &ToolContext) -> ToolOutcome {
        parse_and_run(NAME, input, ctx, |ws, ctx, input: Input| {
            write(ws, &ctx.limits, &input)
        })
        .await
    }
}

fn write(ws: &Workspace, limits: &ToolLimits, input: &Input) -> Result<ToolOutcome, ToolOutcome> {
    let shown = &input.path;
    if input.content.len() > limits.max_write_bytes {
        return Err(ToolOutcome::error(format!(
            "content is {} bytes, above the write limit of {} bytes",
            input.content.len(),
            limits.max_write_bytes
        )));
    }
    let path = ws.resolve(shown)?;
    let old = read_existing(&path, shown)?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|err| {
            ToolOutcome::error(format!(
                "cannot create the parent directories of {shown}: {err}"
            ))
        })?;
    }
    let rel = ws.relative(&path);
    if old.as_deref() == Some(input.content.as_str()) {
        return Ok(ToolOutcome::ok(format!(
            "{rel} already has this content; nothing changed"
        )));
    }
    std::fs::write(&path, &input.content)
        .map_err(|err| ToolOutcome::error(format!("cannot write {shown}: {err}")))?;
    let (kind, old_text) = match &old {
        Some(old) => (ChangeKind::Modified, old.as_str()),
        None => (ChangeKind::Added, ""),
    };
    let (lines_added, lines_removed) = line_counts(old_text, &input.content);
    let summary = match kind {
        ChangeKind::Added => format!("Created {rel} ({lines_added} lines)"),
        ChangeKind::Modified | ChangeKind::Deleted => {
            format!("Wrote {rel} (+{lines_added} -{lines_removed} lines)")
        }
    };
    Ok(ToolOutcome::ok(summary).with_change(FileChange {
        path: rel,
        kind,
        lines_added,
        lines_removed,
    }))
}

/// The current content (lossy, it only feeds the line counts), or `None` if
/// the file does not exist yet.
fn read_existing(path: &Path, shown: &str) -> Result<Option<String>, ToolOutcome> {
    if path.is_dir() {
        return Err(ToolOutcome::error(format!(
            "{shown} is a directory, not a file"
        )));
    }
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        // NotADirectory: a parent is a file; create_dir_all then says so clearly.
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(err) => Err(ToolOutcome::error(format!(
            "cannot read the current {shown}: {err}"
        ))),
    }
}
