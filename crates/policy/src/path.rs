//! Gitignore-style path rules (`Read(./src/**)`, `Edit(//etc/**)`) and the
//! lexical path arithmetic they need.

use std::path::{Component, Path, PathBuf};

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

/// The directories path rules are resolved against.
///
/// `workspace` serves as the working directory (agentd's tools resolve
/// relative paths from the workspace root) and as the project/settings root
/// that `/path` rules are anchored at (repository settings live in
/// `<workspace>/.claude/`). Pass it canonical, as
/// [`agentd_tools::Workspace::root`] is, so prefix checks are meaningful.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyPaths {
    pub workspace: PathBuf,
    /// For `~/path` rules; without it those rules match nothing.
    pub home: Option<PathBuf>,
}

impl PolicyPaths {
    pub fn new(workspace: impl Into<PathBuf>, home: Option<PathBuf>) -> Self {
        Self {
            workspace: workspace.into(),
            home,
        }
    }

    /// The absolute, lexically normalized path a tool's path argument names.
    /// Symlinks are not followed: the tools' own confinement handles those.
    pub(crate) fn resolve(&self, raw: &str) -> PathBuf {
        let path = Path::new(raw);
        if path.is_absolute() {
            normalize(path)
        } else {
            normalize(&self.workspace.join(path))
        }
    }

    pub(crate) fn contains(&self, resolved: &Path) -> bool {
        resolved.starts_with(&self.workspace)
    }
}

/// Removes `.` and resolves `..` without touching the filesystem.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Anchor {
    /// `path`, `./path`: the working directory.
    Cwd,
    /// `/path`: the project (settings) root.
    Project,
    /// `//path`: the filesystem root.
    Absolute,
    /// `~/path`: the home directory.
    Home,
}

#[derive(Clone, Debug)]
pub(crate) struct PathPattern {
    anchor: Anchor,
    /// `None` matches the base directory and everything beneath it.
    glob: Option<GlobSet>,
}

impl PathPattern {
    pub(crate) fn parse(spec: &str) -> Result<Self, globset::Error> {
        let (anchor, rest, anchored) = if let Some(rest) = spec.strip_prefix("//") {
            (Anchor::Absolute, rest, true)
        } else if let Some(rest) = spec.strip_prefix("~/") {
            (Anchor::Home, rest, true)
        } else if spec == "~" {
            (Anchor::Home, "", true)
        } else if let Some(rest) = spec.strip_prefix('/') {
            (Anchor::Project, rest, true)
        } else if let Some(rest) = spec.strip_prefix("./") {
            (Anchor::Cwd, rest, true)
        } else {
            (Anchor::Cwd, spec, false)
        };
        // A trailing slash marks a directory; the directory rule below already
        // covers its contents, and we cannot tell files from directories here.
        let rest = rest.trim_end_matches('/');
        let glob = if rest.is_empty() || rest == "**" {
            None
        } else {
            // As in gitignore, a pattern without a slash matches at any depth.
            let pattern = if !anchored && !rest.contains('/') {
                format!("**/{rest}")
            } else {
                rest.to_owned()
            };
            let mut set = GlobSetBuilder::new();
            set.add(build_glob(&pattern)?);
            // `dir/**` also covers `dir` itself, so a search of the directory
            // counts as reading what is inside it.
            if let Some(dir) = pattern.strip_suffix("/**") {
                set.add(build_glob(dir)?);
            }
            Some(set.build()?)
        };
        Ok(Self { anchor, glob })
    }

    /// Whether `target` (absolute, normalized) falls under the pattern. As in
    /// gitignore, a pattern naming a directory also covers what is inside it.
    pub(crate) fn matches(&self, target: &Path, paths: &PolicyPaths) -> bool {
        let base = match self.anchor {
            Anchor::Cwd | Anchor::Project => paths.workspace.as_path(),
            Anchor::Absolute => Path::new("/"),
            Anchor::Home => match &paths.home {
                Some(home) => home.as_path(),
                None => return false,
            },
        };
        let Ok(relative) = target.strip_prefix(base) else {
            return false;
        };
        let Some(glob) = &self.glob else {
            return true;
        };
        relative
            .ancestors()
            .filter(|p| !p.as_os_str().is_empty())
            .any(|p| glob.is_match(p))
    }
}

fn build_glob(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
}

/// The path rule text that names exactly `target`: `src/x.rs` inside the
/// workspace, `//abs/path` outside it. Glob metacharacters are escaped.
pub(crate) fn exact_rule_path(target: &Path, paths: &PolicyPaths) -> String {
    match target.strip_prefix(&paths.workspace) {
        Ok(relative) if relative.as_os_str().is_empty() => "./".to_owned(),
        Ok(relative) => {
            let text = escape_glob(&relative.to_string_lossy());
            // Without a slash the pattern would match the name at any depth.
            if text.contains('/') {
                text
            } else {
                format!("./{text}")
            }
        }
        Err(_) => format!("/{}", escape_glob(&target.to_string_lossy())),
    }
}

fn escape_glob(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '*' | '?' | '[' | ']' | '{' | '}' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_resolves_dots_lexically() {
        assert_eq!(
            normalize(Path::new("/w/a/./b/../c")),
            PathBuf::from("/w/a/c")
        );
        assert_eq!(normalize(Path::new("/w/../../x")), PathBuf::from("/x"));
    }

    #[test]
    fn exact_rule_paths_round_trip() {
        let paths = PolicyPaths::new("/w", None);
        for raw in [
            "src/x.rs",
            "x.rs",
            "/etc/passwd",
            "src/[a]*.rs",
            "a\\b{c}.rs",
        ] {
            let target = paths.resolve(raw);
            let rule = exact_rule_path(&target, &paths);
            let pattern = PathPattern::parse(&rule).unwrap();
            assert!(
                pattern.matches(&target, &paths),
                "{rule} should match {raw}"
            );
        }
    }
}
