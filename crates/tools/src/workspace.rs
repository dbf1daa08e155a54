//! Path confinement: every path a tool touches goes through [`Workspace::resolve`].
//!
//! Resolution follows symlinks component by component, exactly as the kernel
//! would, and the *fully resolved* path is what tools then operate on. So the
//! check and the use agree: a path that passes cannot reach outside the root
//! through `..`, an absolute path or a symlink anywhere along the way. (A
//! symlink swapped in between the check and the use can still race it; the
//! sandbox is the defence against a hostile process in the workspace.)

use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Symlinks followed while resolving one path before giving up, as Linux's ELOOP.
const MAX_SYMLINKS: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error("path is empty")]
    Empty,
    #[error("invalid path {path:?}: contains a NUL byte")]
    InvalidPath { path: String },
    #[error("path escapes the workspace: {path} is outside the workspace root {root}")]
    OutsideWorkspace { path: String, root: String },
    #[error(
        "path escapes the workspace: {path} leads through a symlink to a location outside the workspace root {root}"
    )]
    SymlinkEscape { path: String, root: String },
    #[error("too many levels of symbolic links: {path}")]
    SymlinkLoop { path: String },
    #[error("no such file or directory: {path}")]
    NotFound { path: String },
    #[error("not a directory: {path}")]
    NotADirectory { path: String },
    #[error("cannot access {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// The directory tree a session's tools may touch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workspace {
    /// Canonical, so prefix checks against resolved paths are meaningful.
    root: PathBuf,
}

impl Workspace {
    /// Canonicalizes `root`, which must be an existing directory.
    pub fn new(root: &Path) -> Result<Self, PathError> {
        let display = root.display().to_string();
        let root = std::fs::canonicalize(root).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => PathError::NotFound {
                path: display.clone(),
            },
            _ => PathError::Io {
                path: display.clone(),
                source,
            },
        })?;
        if !root.is_dir() {
            return Err(PathError::NotADirectory { path: display });
        }
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves a path given by the model to an absolute, symlink-free path
    /// inside the workspace. Relative paths are taken from the root; the path
    /// need not exist (so it can be written).
    pub fn resolve(&self, user_path: &str) -> Result<PathBuf, PathError> {
        if user_path.is_empty() {
            return Err(PathError::Empty);
        }
        if user_path.contains('\0') {
            return Err(PathError::InvalidPath {
                path: user_path.to_owned(),
            });
        }
        let joined = self.root.join(user_path);
        let resolved = resolve_physical(&joined, user_path)?;
        if resolved.starts_with(&self.root) {
            return Ok(resolved);
        }
        let root = self.root.display().to_string();
        let path = user_path.to_owned();
        if normalize_lexically(&joined).starts_with(&self.root) {
            Err(PathError::SymlinkEscape { path, root })
        } else {
            Err(PathError::OutsideWorkspace { path, root })
        }
    }

    /// Like [`Workspace::resolve`], but the path must exist.
    pub fn resolve_existing(&self, user_path: &str) -> Result<PathBuf, PathError> {
        let resolved = self.resolve(user_path)?;
        match std::fs::symlink_metadata(&resolved) {
            Ok(_) => Ok(resolved),
            Err(source) if source.kind() == io::ErrorKind::NotFound => Err(PathError::NotFound {
                path: user_path.to_owned(),
            }),
            Err(source) if source.kind() == io::ErrorKind::NotADirectory => {
                Err(PathError::NotFound {
                    path: user_path.to_owned(),
                })
            }
            Err(source) => Err(PathError::Io {
                path: user_path.to_owned(),
                source,
            }),
        }
    }

    /// `path` relative to the root, `/`-separated (`.` for the root itself),
    /// as reported to the model and in [`crate::FileChange`].
    pub fn relative(&self, path: &Path) -> String {
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return path.display().to_string();
        };
        let parts: Vec<_> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect();
        if parts.is_empty() {
            ".".to_owned()
        } else {
            parts.join("/")
        }
    }
}

enum Part {
    Root,
    Parent,
    Name(OsString),
}

/// Pushes `path`'s components onto `stack` so they pop in order.
fn push_parts(stack: &mut Vec<Part>, path: &Path) {
    for component in path.components().rev() {
        match component {
            Component::RootDir => stack.push(Part::Root),
            Component::ParentDir => stack.push(Part::Parent),
            Component::Normal(name) => stack.push(Part::Name(name.to_owned())),
            Component::CurDir | Component::Prefix(_) => {}
        }
    }
}

/// `realpath` that tolerates missing components: existing symlinks are followed
/// (relative targets against their directory), the rest is applied lexically.
fn resolve_physical(path: &Path, display: &str) -> Result<PathBuf, PathError> {
    let mut resolved = PathBuf::from("/");
    let mut stack = Vec::new();
    push_parts(&mut stack, path);
    let mut followed = 0;
    while let Some(part) = stack.pop() {
        match part {
            Part::Root => resolved = PathBuf::from("/"),
            Part::Parent => {
                resolved.pop();
            }
            Part::Name(name) => {
                let next = resolved.join(&name);
                let is_symlink = std::fs::symlink_metadata(&next)
                    .is_ok_and(|meta| meta.file_type().is_symlink());
                if !is_symlink {
                    resolved = next;
                    continue;
                }
                followed += 1;
                if followed > MAX_SYMLINKS {
                    return Err(PathError::SymlinkLoop {
                        path: display.to_owned(),
                    });
                }
                let target = std::fs::read_link(&next).map_err(|source| PathError::Io {
                    path: display.to_owned(),
                    source,
                })?;
                push_parts(&mut stack, &target);
            }
        }
    }
    Ok(resolved)
}

/// Removes `.` and `..` without touching the filesystem; only used to tell
/// the model *why* a path was refused.
fn normalize_lexically(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => out.push(name),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn setup() -> (tempfile::TempDir, Workspace) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src/nested")).unwrap();
        std::fs::write(dir.path().join("src/a.rs"), "fn main() {}\n").unwrap();
        let ws = Workspace::new(dir.path()).unwrap();
        (dir, ws)
    }

    #[test]
    fn relative_and_absolute_paths_inside_resolve() {
        let (_dir, ws) = setup();
        let root = ws.root().to_owned();
        assert_eq!(ws.resolve("src/a.rs").unwrap(), root.join("src/a.rs"));
        assert_eq!(
            ws.resolve("./src/../src/a.rs").unwrap(),
            root.join("src/a.rs")
        );
        assert_eq!(ws.resolve(".").unwrap(), root);
        let abs = root.join("src/a.rs");
        assert_eq!(ws.resolve(abs.to_str().unwrap()).unwrap(), abs);
        // Not-yet-existing files resolve too, so they can be written.
        assert_eq!(
            ws.resolve("new/dir/f.txt").unwrap(),
            root.join("new/dir/f.txt")
        );
    }

    #[test]
    fn dot_dot_and_outside_absolute_paths_are_refused() {
        let (_dir, ws) = setup();
        for path in [
            "../x",
            "src/../../x",
            "/etc/passwd",
            "missing/../../../etc",
            "/",
        ] {
            let err = ws.resolve(path).unwrap_err();
            assert!(
                matches!(err, PathError::OutsideWorkspace { .. }),
                "{path}: {err}"
            );
            assert!(
                err.to_string().starts_with("path escapes the workspace: "),
                "{err}"
            );
        }
    }

    #[test]
    fn symlink_escapes_are_refused() {
        let (dir, ws) = setup();
        symlink("/etc", dir.path().join("etc_link")).unwrap();
        symlink("../..", dir.path().join("src/up")).unwrap();
        // A dangling link: writing through it would create a file outside.
        symlink(
            "/tmp/agentd-tools-never-created",
            dir.path().join("dangling"),
        )
        .unwrap();
        for path in [
            "etc_link",
            "etc_link/passwd",
            "src/up/x",
            "dangling",
            "etc_link/../x",
        ] {
            let err = ws.resolve(path).unwrap_err();
            assert!(
                matches!(err, PathError::SymlinkEscape { .. }),
                "{path}: {err}"
            );
            assert!(
                err.to_string().starts_with("path escapes the workspace: "),
                "{err}"
            );
        }
    }

    #[test]
    fn symlinks_inside_the_workspace_are_followed() {
        let (dir, ws) = setup();
        symlink("src", dir.path().join("code")).unwrap();
        symlink("nested/../a.rs", dir.path().join("src/alias.rs")).unwrap();
        assert_eq!(ws.resolve("code/a.rs").unwrap(), ws.root().join("src/a.rs"));
        assert_eq!(
            ws.resolve("src/alias.rs").unwrap(),
            ws.root().join("src/a.rs")
        );
    }

    #[test]
    fn symlink_loops_and_bad_input_are_errors() {
        let (dir, ws) = setup();
        symlink("loop_b", dir.path().join("loop_a")).unwrap();
        symlink("loop_a", dir.path().join("loop_b")).unwrap();
        assert!(matches!(
            ws.resolve("loop_a/x"),
            Err(PathError::SymlinkLoop { .. })
        ));
        assert!(matches!(ws.resolve(""), Err(PathError::Empty)));
        assert!(matches!(
            ws.resolve("a\0b"),
            Err(PathError::InvalidPath { .. })
        ));
    }

    #[test]
    fn resolve_existing_reports_not_found() {
        let (_dir, ws) = setup();
        assert!(ws.resolve_existing("src/a.rs").is_ok());
        let err = ws.resolve_existing("nope.txt").unwrap_err();
        assert_eq!(err.to_string(), "no such file or directory: nope.txt");
        assert!(matches!(
            ws.resolve_existing("src/a.rs/x"),
            Err(PathError::NotFound { .. })
        ));
    }

    #[test]
    fn workspace_root_must_be_an_existing_directory() {
        let (dir, ws) = setup();
        assert!(matches!(
            Workspace::new(&dir.path().join("missing")),
            Err(PathError::NotFound { .. })
        ));
        assert!(matches!(
            Workspace::new(&dir.path().join("src/a.rs")),
            Err(PathError::NotADirectory { .. })
        ));
        assert_eq!(ws.relative(&ws.root().join("src/a.rs")), "src/a.rs");
        assert_eq!(ws.relative(ws.root()), ".");
    }
}
