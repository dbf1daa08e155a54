//! `grep`: regex search over file contents, as `path:line:text`.

use std::path::Path;

use globset::{GlobBuilder, GlobMatcher};
use regex::{Regex, RegexBuilder};
use serde::Deserialize;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::walk::{cancelled, relative_to, walk};
use super::{looks_binary, object_schema, parse_and_run};
use crate::context::ToolContext;
use crate::tool::{Tool, ToolOutcome, ToolSpec};
use crate::truncate::truncate_output;
use crate::workspace::Workspace;

const NAME: &str = "grep";
const DEFAULT_MAX_RESULTS: usize = 200;
const MAX_MAX_RESULTS: usize = 2_000;
/// Matched lines longer than this (minified code) are shortened.
const MAX_LINE_CHARS: usize = 500;
/// Larger files are skipped: they are almost never source code.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Bounds the compiled regex so a pathological pattern fails fast instead of eating memory.
const REGEX_SIZE_LIMIT: usize = 10 * 1024 * 1024;

pub struct Grep;

#[derive(Debug, Deserialize)]
struct Input {
    pattern: String,
    path: Option<String>,
    glob: Option<String>,
    #[serde(default)]
    case_insensitive: bool,
    max_results: Option<usize>,
}

#[async_trait::async_trait]
impl Tool for Grep {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: NAME.to_owned(),
            description: "Search file contents with a regular expression (Rust regex syntax). \
                          Returns matching lines as path:line:text. Files ignored by \
                          .gitignore and binary files are skipped."
                .to_owned(),
            input_schema: object_schema(
                json!({
                    "pattern": {"type": "string", "description": "Regular expression to search for."},
                    "path": {"type": "string", "description": "File or directory to search. Default: the workspace root."},
                    "glob": {"type": "string", "description": "Only search files matching this glob, e.g. \"*.rs\" (matched against the file name) or \"src/**/*.ts\" (matched against the path)."},
                    "case_insensitive": {"type": "boolean", "description": "Ignore case. Default false."},
                    "max_results": {"type": "integer", "minimum": 1, "maximum": MAX_MAX_RESULTS, "description": "Maximum number of matching lines. Default 200."},
                }),
                &["pattern"],
            ),
        }
    }

    async fn call(&self, input: serde_json::Value, ctx: &ToolContext) -> ToolOutcome {
        parse_and_run(NAME, input, ctx, |ws, ctx, input: Input| {
            grep(ws, &input, &ctx.cancel, ctx.limits.max_output_chars)
        })
        .await
    }
}

/// Which files to search, from the optional `glob` argument.
enum FileFilter {
    All,
    /// A glob without `/` matches the file name anywhere, as in ripgrep's `-g`.
    Name(GlobMatcher),
    Path(GlobMatcher),
}

impl FileFilter {
    fn new(glob: Option<&str>) -> Result<Self, ToolOutcome> {
        let Some(glob) = glob else {
            return Ok(Self::All);
        };
        let matcher = GlobBuilder::new(glob)
            .literal_separator(true)
            .build()
            .map_err(|err| ToolOutcome::error(format!("invalid glob: {err}")))?
            .compile_matcher();
        Ok(if glob.contains('/') {
            Self::Path(matcher)
        } else {
            Self::Name(matcher)
        })
    }

    fn accepts(&self, base: &Path, path: &Path) -> bool {
        match self {
            Self::All => true,
            Self::Name(matcher) => path.file_name().is_some_and(|name| matcher.is_match(name)),
            Self::Path(matcher) => matcher.is_match(relative_to(base, path)),
        }
    }
}

fn grep(
    ws: &Workspace,
    input: &Input,
    cancel: &CancellationToken,
    max_chars: usize,
) -> Result<ToolOutcome, ToolOutcome> {
    let regex = RegexBuilder::new(&input.pattern)
        .case_insensitive(input.case_insensitive)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|err| ToolOutcome::error(format!("invalid regex: {err}")))?;
    let filter = FileFilter::new(input.glob.as_deref())?;
    let max_results = input
        .max_results
        .unwrap_or(DEFAULT_MAX_RESULTS)
        .clamp(1, MAX_MAX_RESULTS);
    let target = ws.resolve_existing(input.path.as_deref().unwrap_or("."))?;

    let mut results = Vec::new();
    if target.is_file() {
        // An explicitly named file is searched even if ignored or filtered out.
        search_file(ws, &target, &regex, max_results, &mut results);
    } else {
        for entry in walk(&target).flatten() {
            if cancel.is_cancelled() {
                return Err(cancelled());
            }
            // Symlinks are not regular files here, so they are never followed out.
            let is_file = entry.file_type().is_some_and(|t| t.is_file());
            if !is_file || !filter.accepts(&target, entry.path()) {
                continue;
            }
            search_file(ws, entry.path(), &regex, max_results, &mut results);
            if results.len() >= max_results {
                break;
            }
        }
    }
    if results.is_empty() {
        return Ok(ToolOutcome::ok(format!("no matches for {}", input.pattern)));
    }
    let mut content = results.join("\n");
    if results.len() >= max_results {
        content.push_str(&format!(
            "\n(stopped at {max_results} matches; narrow the pattern, path or glob, or raise max_results)"
        ));
    }
    Ok(ToolOutcome::ok(truncate_output(&content, max_chars)))
}

/// Appends `path:line:text` for each matching line; unreadable, huge and
/// binary files are skipped silently, as ripgrep does.
fn search_file(
    ws: &Workspace,
    path: &Path,
    regex: &Regex,
    max_results: usize,
    out: &mut Vec<String>,
) {
    let too_big = std::fs::metadata(path).map_or(true, |meta| meta.len() > MAX_FILE_BYTES);
    if too_big {
        return;
    }
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    if looks_binary(&bytes) {
        return;
    }
    let text = String::from_utf8_lossy(&bytes);
    let shown = ws.relative(path);
    for (index, line) in text.lines().enumerate() {
        if out.len() >= max_results {
            return;
        }
        if regex.is_match(line) {
            out.push(format!(
                "{shown}:{}:{}",
                index + 1,
                truncate_output(line, MAX_LINE_CHARS)
            ));
        }
    }
}
