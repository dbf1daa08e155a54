//! `glob`: files whose path matches a glob pattern.

use globset::GlobBuilder;
use serde::Deserialize;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::walk::{cancelled, relative_to, resolve_dir, walk};
use super::{object_schema, parse_and_run};
use crate::context::ToolContext;
use crate::tool::{Tool, ToolOutcome, ToolSpec};
use crate::truncate::truncate_output;
use crate::workspace::Workspace;

const NAME: &str = "glob";
const MAX_RESULTS: usize = 1_000;

pub struct Glob;

#[derive(Debug, Deserialize)]
struct Input {
    pattern: String,
    path: Option<String>,
}

#[async_trait::async_trait]
impl Tool for Glob {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: NAME.to_owned(),
            description: "Find files by glob pattern (e.g. \"**/*.rs\", \"src/**/test_*.py\"), \
                          matched against paths relative to the search directory. `*` does \
                          not cross `/`; use `**` for any depth. Files ignored by .gitignore \
                          are skipped. Returns workspace-relative paths, sorted."
                .to_owned(),
            input_schema: object_schema(
                json!({
                    "pattern": {"type": "string", "description": "Glob pattern."},
                    "path": {"type": "string", "description": "Directory to search in. Default: the workspace root."},
                }),
                &["pattern"],
            ),
        }
    }

    async fn call(&self, input: serde_json::Value, ctx: &ToolContext) -> ToolOutcome {
        parse_and_run(NAME, input, ctx, |ws, ctx, input: Input| {
            glob(ws, &input, &ctx.cancel, ctx.limits.max_output_chars)
        })
        .await
    }
}

fn glob(
    ws: &Workspace,
    input: &Input,
    cancel: &CancellationToken,
    max_chars: usize,
) -> Result<ToolOutcome, ToolOutcome> {
    let matcher = GlobBuilder::new(&input.pattern)
        .literal_separator(true)
        .build()
        .map_err(|err| ToolOutcome::error(format!("invalid glob pattern: {err}")))?
        .compile_matcher();
    let dir = resolve_dir(ws, input.path.as_deref())?;
    let mut found = Vec::new();
    for entry in walk(&dir).flatten() {
        if cancel.is_cancelled() {
            return Err(cancelled());
        }
        let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
        if entry.depth() == 0 || is_dir {
            continue;
        }
        if matcher.is_match(relative_to(&dir, entry.path())) {
            found.push(ws.relative(entry.path()));
        }
    }
    if found.is_empty() {
        return Ok(ToolOutcome::ok(format!("no files match {}", input.pattern)));
    }
    found.sort();
    let total = found.len();
    found.truncate(MAX_RESULTS);
    let mut content = found.join("\n");
    if total > MAX_RESULTS {
        content.push_str(&format!(
            "\n(showing the first {MAX_RESULTS} of {total} matching files; narrow the pattern or path)"
        ));
    }
    Ok(ToolOutcome::ok(truncate_output(&content, max_chars)))
}
