//! A session's workspace as the files API sees it: confined paths, one-level
//! listings, file downloads, streamed tar/zip archives and uploads.
//!
//! The path rule (in [`path`]) is the whole security story: a path is
//! relative, has no `..` and no `.git` component, and after following
//! symlinks still lies inside the workspace and outside any `.git`. `.git`
//! internals are never listed, archived, served or written, because the
//! server itself runs git in worktrees (hooks and config planted there would
//! run as the server). An upload still being written (`.agentd-upload-…`)
//! is hidden too.
//!
//! Architecture invariant: no store, server, llm or session types; the
//! caller says which directory is the workspace.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod archive;
mod error;
mod list;
mod path;
mod read;
mod upload;

pub use archive::{ArchiveFormat, archive};
pub use error::FilesError;
pub use list::{MAX_ENTRIES, list};
pub use path::{RelPath, Tree, is_protected};
pub use read::{OpenedFile, open_file};
pub use upload::{Upload, upload};
