//! `edit_file`: exact string replacement in an existing text file.

use serde::Deserialize;
use serde_json::json;

use super::{looks_binary, object_schema, parse_and_run};
use crate::context::{ToolContext, ToolLimits};
use crate::diff::line_counts;
use crate::tool::{ChangeKind, FileChange, Tool, ToolOutcome, ToolSpec};
use crate::workspace::{PathError, Workspace};

const NAME: &str = "edit_file";

pub struct EditFile;

#[derive(Debug, Deserialize)]
struct Input {
    path: String,
    old_string: String,
    new_string: String,
    #[serde(default)]
    replace_all: bool,
}

#[async_trait::async_trait]
impl Tool for EditFile {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: NAME.to_owned(),
            description: "Replace an exact string in a file. old_string must match the file \
                          exactly (including whitespace and indentation) and be unique unless \
                          replace_all is true; include surrounding lines to make it unique."
                .to_owned(),
            input_schema: object_schema(
                json!({
                    "path": {"type": "string", "description": "File path, relative to the workspace root or absolute inside it."},
                    "old_string": {"type": "string", "description": "The exact text to replace."},
                    "new_string": {"type": "string", "description": "The text to put in its place."},
                    "replace_all": {"type": "boolean", "description": "Replace every occurrence instead of requiring exactly one. Default false."},
                }),
                &["path", "old_string", "new_string"],
            ),
        }
    }

    async fn call(&self, input: serde_json::Value, ctx: &ToolContext) -> ToolOutcome {
        parse_and_run(NAME, input, ctx, |ws, ctx, input: Input| {
            edit(ws, &ctx.limits, &input)
        })
        .await
    }
}

fn edit(ws: &Workspace, limits: &ToolLimits, input: &Input) -> Result<ToolOutcome, ToolOutcome> {
    let shown = &input.path;
    if input.old_string.is_empty() {
        return Err(ToolOutcome::error(
            "old_string is empty; to create a file or replace all of it, use write_file",
        ));
    }
    if input.old_string == input.new_string {
        return Err(ToolOutcome::error(
            "old_string and new_string are identical; there is nothing to change",
        ));
    }
    let path = ws.resolve_existing(shown).map_err(|err| match err {
        PathError::NotFound { .. } => ToolOutcome::error(format!(
            "file not found: {shown}; use write_file to create a new file"
        )),
        other => other.into(),
    })?;
    let current = read_text(&path, shown, limits)?;
    let found = current.matches(input.old_string.as_str()).count();
    if found == 0 {
        return Err(ToolOutcome::error(format!(
            "old_string not found in {shown}; it must match the file exactly, including \
             whitespace and indentation (use read_file to see the current content)"
        )));
    }
    if found > 1 && !input.replace_all {
        return Err(ToolOutcome::error(format!(
            "old_string found {found} times in {shown}; include more surrounding context to \
             make it unique, or set replace_all to true to replace every occurrence"
        )));
    }
    let updated = if input.replace_all {
        current.replace(&input.old_string, &input.new_string)
    } else {
        current.replacen(&input.old_string, &input.new_string, 1)
    };
    if updated.len() > limits.max_write_bytes {
        return Err(ToolOutcome::error(format!(
            "the edited file would be {} bytes, above the write limit of {} bytes",
            updated.len(),
            limits.max_write_bytes
        )));
    }
    std::fs::write(&path, &updated)
        .map_err(|err| ToolOutcome::error(format!("cannot write {shown}: {err}")))?;
    let (lines_added, lines_removed) = line_counts(&current, &updated);
    let rel = ws.relative(&path);
    let occurrences = if found == 1 {
        "1 occurrence".to_owned()
    } else {
        format!("{found} occurrences")
    };
    Ok(ToolOutcome::ok(format!(
        "Edited {rel}: replaced {occurrences} (+{lines_added} -{lines_removed} lines)"
    ))
    .with_change(FileChange {
        path: rel,
        kind: ChangeKind::Modified,
        lines_added,
        lines_removed,
    }))
}

fn read_text(
    path: &std::path::Path,
    shown: &str,
    limits: &ToolLimits,
) -> Result<String, ToolOutcome> {
    if path.is_dir() {
        return Err(ToolOutcome::error(format!(
            "{shown} is a directory, not a file"
        )));
    }
    let bytes = std::fs::read(path)
        .map_err(|err| ToolOutcome::error(format!("cannot read {shown}: {err}")))?;
    if bytes.len() > limits.max_write_bytes {
        return Err(ToolOutcome::error(format!(
            "{shown} is {} bytes, too large to edit (limit {} bytes)",
            bytes.len(),
            limits.max_write_bytes
        )));
    }
    if looks_binary(&bytes) {
        return Err(ToolOutcome::error(format!(
            "{shown} appears to be binary; edit_file only edits text"
        )));
    }
    String::from_utf8(bytes).map_err(|_| {
        ToolOutcome::error(format!(
            "{shown} is not valid UTF-8; edit_file only edits UTF-8 text"
        ))
    })
}
