//! Directory walking shared by `glob`, `list` and `grep`: `.gitignore` and
//! `.ignore` rules respected, `.git` skipped, symlinks not followed (a link
//! could lead out of the workspace).

use std::path::Path;

use ignore::{Walk, WalkBuilder};

use crate::tool::ToolOutcome;
use crate::workspace::Workspace;

pub(crate) fn walk(dir: &Path) -> Walk {
    WalkBuilder::new(dir)
        // Dotfiles such as .github/ matter to coding agents; ignore rules still apply.
        .hidden(false)
        // .gitignore applies even in a plain directory that is not a git checkout.
        .require_git(false)
        // The server user's global gitignore says nothing about this workspace.
        .git_global(false)
        .follow_links(false)
        .sort_by_file_name(std::cmp::Ord::cmp)
        .filter_entry(|entry| entry.file_name() != ".git")
        .build()
}

/// Resolves an optional directory argument (default: the workspace root).
pub(crate) fn resolve_dir(
    ws: &Workspace,
    path: Option<&str>,
) -> Result<std::path::PathBuf, ToolOutcome> {
    let shown = path.unwrap_or(".");
    let dir = ws.resolve_existing(shown)?;
    if !dir.is_dir() {
        return Err(ToolOutcome::error(format!("not a directory: {shown}")));
    }
    Ok(dir)
}

/// `path` relative to `base`, `/`-separated, for matching globs.
pub(crate) fn relative_to(base: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    let parts: Vec<_> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    parts.join("/")
}

pub(crate) fn cancelled() -> ToolOutcome {
    ToolOutcome::error("cancelled")
}
