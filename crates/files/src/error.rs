//! What can go wrong with a workspace path. Messages name the path as the
//! client gave it, never the server's own directories.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// Not a usable path at all (a NUL byte, too long).
    #[error("invalid path: {0}")]
    Invalid(String),
    /// `..`, an absolute path, or a symlink leading out of the workspace.
    #[error("{path:?} is outside the workspace: {why}")]
    OutsideWorkspace { path: String, why: &'static str },
    /// Inside a `.git` directory (or the `.git` file of a worktree).
    #[error("{path:?} is inside .git, which the files API never reads or writes")]
    Protected { path: String },
    #[error("no such file or directory: {path:?}")]
    NotFound { path: String },
    #[error("not a regular file: {path:?}")]
    NotAFile { path: String },
    #[error("not a directory: {path:?}")]
    NotADirectory { path: String },
    /// The filesystem refused (a file the agent made unreadable).
    #[error("permission denied: {path:?}")]
    PermissionDenied { path: String },
    /// An upload went past the size limit; nothing was written.
    #[error("the upload is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// The client's body broke off; nothing was written.
    #[error("the upload was interrupted: {0}")]
    Interrupted(String),
    /// A filesystem error on our side (logged with its detail by the caller).
    #[error("the workspace could not be read or written")]
    Io(#[source] io::Error),
}

impl FilesError {
    /// Maps an I/O error met while working on `path` (as the client gave it).
    pub(crate) fn io(path: &str, e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::NotFound => Self::NotFound {
                path: path.to_owned(),
            },
            io::ErrorKind::NotADirectory => Self::NotADirectory {
                path: path.to_owned(),
            },
            io::ErrorKind::IsADirectory => Self::NotAFile {
                path: path.to_owned(),
            },
            io::ErrorKind::PermissionDenied => Self::PermissionDenied {
                path: path.to_owned(),
            },
            _ => Self::Io(e),
        }
    }
}
