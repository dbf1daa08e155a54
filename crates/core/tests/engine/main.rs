//! The engine in-process: a real store, the testkit's fakes as models and
//! the real Claude Code CLI, driven through `SessionManager`. One test
//! binary, so the setup in [`common`] compiles once; one module per area.

mod common;

mod approvals;
mod claude_runtime;
mod create;
mod lifecycle;
mod mcp_lifecycle;
mod openai_runtime;
mod parity;
mod recovery;
