//! The path rule of the files API.
//!
//! Two checks, both required. [`RelPath::parse`] is lexical: relative, no
//! `..`, no `.git` component (so a client cannot even ask). [`Tree::resolve`]
//! then follows symlinks the way the kernel would (through
//! [`agentd_tools::Workspace`], the same confinement the agent's tools use)
//! and refuses a result outside the workspace or inside a `.git`, which is
//! how a symlink planted by the agent is caught.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use agentd_tools::{PathError, Workspace};

use crate::error::FilesError;

/// Longest path accepted, as Linux's PATH_MAX.
const MAX_PATH_BYTES: usize = 4096;

/// True for a name the files API never touches: `.git` (a repository's git
/// directory, or a worktree's `.git` file). Compared case-insensitively so
/// a case-insensitive filesystem cannot be used to sneak past it.
pub fn is_protected(name: &OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| n.eq_ignore_ascii_case(".git"))
}

/// A client's path, checked lexically and normalised: `/`-separated,
/// relative to the workspace root, `""` for the root itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelPath(String);

impl RelPath {
    /// `""`, `"."` and `"./"` are the root; empty and `.` components are
    /// dropped (`a//./b` is `a/b`).
    pub fn parse(raw: &str) -> Result<Self, FilesError> {
        if raw.len() > MAX_PATH_BYTES {
            return Err(FilesError::Invalid(format!(
                "paths are at most {MAX_PATH_BYTES} bytes"
            )));
        }
        if raw.contains('\0') {
            return Err(FilesError::Invalid("the path contains a NUL byte".into()));
        }
        if raw.starts_with('/') {
            return Err(FilesError::OutsideWorkspace {
                path: raw.to_owned(),
                why: "paths are relative to the workspace root, not absolute",
            });
        }
        let mut parts = Vec::new();
        for part in raw.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    return Err(FilesError::OutsideWorkspace {
                        path: raw.to_owned(),
                        why: "`..` is not accepted",
                    });
                }
                name if is_protected(OsStr::new(name)) => {
                    return Err(FilesError::Protected {
                        path: raw.to_owned(),
                    });
                }
                name => parts.push(name),
            }
        }
        Ok(Self(parts.join("/")))
    }

    pub fn root() -> Self {
        Self(String::new())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The last component (`None` for the root).
    pub fn name(&self) -> Option<&str> {
        self.0.rsplit('/').next().filter(|n| !n.is_empty())
    }

    /// The path of `name` inside this directory.
    pub fn child(&self, name: &str) -> String {
        if self.is_root() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.0)
        }
    }
}

/// A session's workspace directory.
#[derive(Clone, Debug)]
pub struct Tree {
    workspace: Workspace,
}

impl Tree {
    /// `NotFound` when the workspace directory is gone (a cleaned-up
    /// session).
    pub fn open(root: &Path) -> Result<Self, FilesError> {
        Workspace::new(root)
            .map(|workspace| Self { workspace })
            .map_err(|e| match e {
                PathError::Io { source, .. } => FilesError::Io(source),
                _ => FilesError::NotFound {
                    path: "(the workspace)".to_owned(),
                },
            })
    }

    pub fn root(&self) -> &Path {
        self.workspace.root()
    }

    /// The physical path `rel` names, every symlink followed; it need not
    /// exist. Refused when it leads out of the workspace or into `.git`.
    pub fn resolve(&self, rel: &RelPath) -> Result<PathBuf, FilesError> {
        if rel.is_root() {
            return Ok(self.root().to_path_buf());
        }
        let shown = || rel.as_str().to_owned();
        let resolved = self.workspace.resolve(rel.as_str()).map_err(|e| match e {
            PathError::OutsideWorkspace { .. } | PathError::SymlinkEscape { .. } => {
                FilesError::OutsideWorkspace {
                    path: shown(),
                    why: "a symlink on the way leads out of the workspace",
                }
            }
            PathError::SymlinkLoop { .. } => {
                FilesError::Invalid(format!("too many levels of symbolic links: {:?}", shown()))
            }
            PathError::NotFound { .. } => FilesError::NotFound { path: shown() },
            PathError::NotADirectory { .. } => FilesError::NotADirectory { path: shown() },
            PathError::Empty | PathError::InvalidPath { .. } => {
                FilesError::Invalid(format!("{:?}", shown()))
            }
            PathError::Io { source, .. } => FilesError::io(rel.as_str(), source),
        })?;
        let inside = resolved.strip_prefix(self.root()).unwrap_or(&resolved);
        if inside.components().any(|c| is_protected(c.as_os_str())) {
            return Err(FilesError::Protected { path: shown() });
        }
        Ok(resolved)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn parsed(raw: &str) -> String {
        RelPath::parse(raw).unwrap().as_str().to_owned()
    }

    #[test]
    fn normalises_harmless_spellings() {
        assert_eq!(parsed(""), "");
        assert_eq!(parsed("."), "");
        assert_eq!(parsed("./"), "");
        assert_eq!(parsed("a//./b/"), "a/b");
        assert_eq!(parsed("src/main.rs"), "src/main.rs");
        // Names that merely start with dots are ordinary.
        assert_eq!(parsed("..hidden/.gitignore"), "..hidden/.gitignore");
    }

    #[test]
    fn refuses_traversal_absolute_and_git() {
        for raw in ["..", "../x", "a/../../x", "a/.."] {
            assert!(
                matches!(
                    RelPath::parse(raw),
                    Err(FilesError::OutsideWorkspace { .. })
                ),
                "{raw}"
            );
        }
        assert!(matches!(
            RelPath::parse("/etc/passwd"),
            Err(FilesError::OutsideWorkspace { .. })
        ));
        for raw in [".git", ".git/config", "sub/.GIT/hooks/pre-commit", "./.Git"] {
            assert!(
                matches!(RelPath::parse(raw), Err(FilesError::Protected { .. })),
                "{raw}"
            );
        }
        assert!(matches!(
            RelPath::parse("a\0b"),
            Err(FilesError::Invalid(_))
        ));
        assert!(matches!(
            RelPath::parse(&"a/".repeat(3000)),
            Err(FilesError::Invalid(_))
        ));
    }

    #[test]
    fn names_and_children() {
        let p = RelPath::parse("src/lib").unwrap();
        assert_eq!(p.name(), Some("lib"));
        assert_eq!(p.child("x.rs"), "src/lib/x.rs");
        assert_eq!(RelPath::root().name(), None);
        assert_eq!(RelPath::root().child("x"), "x");
    }

    #[test]
    fn symlinks_out_of_the_workspace_or_into_git_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".git/hooks")).unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        symlink(outside.path(), dir.path().join("out")).unwrap();
        symlink("/etc/passwd", dir.path().join("passwd")).unwrap();
        symlink(".git/hooks", dir.path().join("hooks")).unwrap();
        symlink("src", dir.path().join("code")).unwrap();
        let tree = Tree::open(dir.path()).unwrap();
        let resolve = |raw: &str| tree.resolve(&RelPath::parse(raw).unwrap());

        assert!(matches!(
            resolve("out/secret"),
            Err(FilesError::OutsideWorkspace { .. })
        ));
        assert!(matches!(
            resolve("passwd"),
            Err(FilesError::OutsideWorkspace { .. })
        ));
        assert!(matches!(
            resolve("hooks/pre-commit"),
            Err(FilesError::Protected { .. })
        ));
        // A symlink that stays inside is followed.
        assert_eq!(
            resolve("code/new.rs").unwrap(),
            tree.root().join("src/new.rs")
        );
        assert_eq!(resolve("").unwrap(), tree.root());
    }

    #[test]
    fn a_missing_workspace_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        assert!(matches!(
            Tree::open(&gone),
            Err(FilesError::NotFound { .. })
        ));
    }
}
