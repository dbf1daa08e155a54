//! `list`: a recursive directory listing, shallowest entries first when capped.

use serde::Deserialize;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::walk::{cancelled, resolve_dir, walk};
use super::{object_schema, parse_and_run};
use crate::context::ToolContext;
use crate::tool::{Tool, ToolOutcome, ToolSpec};
use crate::truncate::truncate_output;
use crate::workspace::Workspace;

const NAME: &str = "list";
const MAX_ENTRIES: usize = 1_000;
/// Stop walking huge trees early; the listing is capped far below this anyway.
const MAX_VISITED: usize = 50_000;

pub struct List;

#[derive(Debug, Deserialize)]
struct Input {
    path: Option<String>,
}

#[async_trait::async_trait]
impl Tool for List {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: NAME.to_owned(),
            description: "List a directory recursively. Directories end with '/'. Files \
                          ignored by .gitignore are skipped. Paths are relative to the \
                          workspace root; large trees show the shallowest entries."
                .to_owned(),
            input_schema: object_schema(
                json!({
                    "path": {"type": "string", "description": "Directory to list. Default: the workspace root."},
                }),
                &[],
            ),
        }
    }

    async fn call(&self, input: serde_json::Value, ctx: &ToolContext) -> ToolOutcome {
        parse_and_run(NAME, input, ctx, |ws, ctx, input: Input| {
            list(ws, &input, &ctx.cancel, ctx.limits.max_output_chars)
        })
        .await
    }
}

struct Entry {
    depth: usize,
    shown: String,
}

fn list(
    ws: &Workspace,
    input: &Input,
    cancel: &CancellationToken,
    max_chars: usize,
) -> Result<ToolOutcome, ToolOutcome> {
    let dir = resolve_dir(ws, input.path.as_deref())?;
    let mut entries = Vec::new();
    let mut complete = true;
    for entry in walk(&dir).flatten() {
        if cancel.is_cancelled() {
            return Err(cancelled());
        }
        if entry.depth() == 0 {
            continue;
        }
        if entries.len() >= MAX_VISITED {
            complete = false;
            break;
        }
        let mut shown = ws.relative(entry.path());
        if entry.file_type().is_some_and(|t| t.is_dir()) {
            shown.push('/');
        }
        entries.push(Entry {
            depth: entry.depth(),
            shown,
        });
    }
    if entries.is_empty() {
        return Ok(ToolOutcome::ok(format!("{} is empty", ws.relative(&dir))));
    }
    let total = entries.len();
    if total > MAX_ENTRIES {
        // Keep the shallowest entries: an overview beats the first corner of the tree.
        entries.sort_by(|a, b| a.depth.cmp(&b.depth).then_with(|| a.shown.cmp(&b.shown)));
        entries.truncate(MAX_ENTRIES);
    }
    let mut lines: Vec<String> = entries.into_iter().map(|e| e.shown).collect();
    lines.sort();
    let mut content = lines.join("\n");
    if total > MAX_ENTRIES || !complete {
        let of = if complete {
            total.to_string()
        } else {
            format!("more than {total}")
        };
        content.push_str(&format!(
            "\n(showing {MAX_ENTRIES} of {of} entries, shallowest first; list a subdirectory to see more)"
        ));
    }
    Ok(ToolOutcome::ok(truncate_output(&content, max_chars)))
}
