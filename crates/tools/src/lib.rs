//! The tools an agent uses inside its workspace.
//!
//! This crate owns the [`Tool`] trait, the [`Registry`] that erases tool types,
//! and the built-in tools (`bash`, `read_file`, `write_file`, `edit_file`,
//! `glob`, `list`, `grep`). Every tool is confined to a [`Workspace`]: paths are
//! resolved through [`Workspace::resolve`], which refuses anything that leaves
//! the workspace root, including via symlinks.
//!
//! Architecture invariant: no dependency on the store, server or llm crates.
//! Tools never panic on bad input; failures come back to the model as a
//! [`ToolOutcome`] with `is_error: true` and a message saying what to do.
//! Every process a tool starts is built by a [`ProcessLauncher`], so the
//! sandbox can wrap it without touching the tools.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod builtin;
mod context;
mod diff;
mod input;
mod launcher;
mod registry;
mod tool;
mod truncate;
mod workspace;

pub use builtin::{Bash, EditFile, Glob, Grep, List, ReadFile, WriteFile};
pub use context::{OutputChunk, OutputSink, OutputStream, ToolContext, ToolLimits};
pub use launcher::{DirectLauncher, ProcessLauncher, SCRUBBED_ENV_PREFIX, SCRUBBED_ENV_VARS};
pub use registry::Registry;
pub use tool::{ChangeKind, FileChange, Tool, ToolOutcome, ToolSpec};
pub use truncate::truncate_output;
pub use workspace::{PathError, Workspace};
