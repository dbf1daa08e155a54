//! The claude-code runtime: the real Claude Code CLI runs a session's turns
//! (`runtime`), in its own sandbox and home (`sandbox`), with agentd
//! answering its hook and permission callbacks (`hooks`).

mod hooks;
mod runtime;
pub(crate) mod sandbox;

pub(crate) use runtime::run;
