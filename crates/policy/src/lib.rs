//! Who may do what: permission modes, Claude Code–syntax permission rules,
//! settings merging and the hook runner.
//!
//! The flow for one tool call, as the agent loop drives it:
//!
//! 1. [`evaluate`] the call against the merged [`PermissionSet`] and the
//!    session's [`PermissionMode`](agentd_protocol::PermissionMode): deny →
//!    ask → allow rules, first match in that order wins, then the mode.
//! 2. Run the `PreToolUse` hooks with [`HookRunner::run`].
//! 3. [`combine`] the two: a hook can tighten the rules' decision, never loosen it;
//!    [`decide`] does 1–3 at once with Claude Code's precedence (a hook allow
//!    also skips the prompt the mode alone would show).
//!
//! Tool names: rules use Claude Code's names. agentd's built-in tools map to
//! them as [`claude_tool_name`] documents (`bash`→`Bash`, `read_file`→`Read`,
//! `glob`→`Glob`, `grep`→`Grep`, `list`→`LS`, `write_file`→`Write`,
//! `edit_file`→`Edit`). `Read(...)` rules also cover `Glob`, `Grep` and `LS`,
//! and `Edit(...)` rules cover `Write` (and Claude Code's `MultiEdit` and
//! `NotebookEdit`), as in Claude Code.
//!
//! Architecture invariant: no dependency on store, server, llm or core. The
//! crate decides and reports; it never prompts, persists or emits events.
//! Processes (command hooks) start only through a
//! [`ProcessLauncher`](agentd_tools::ProcessLauncher), so the sandbox applies.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod evaluate;
mod hooks;
mod path;
mod rule;
mod settings;
mod shell;
mod tool;

pub use evaluate::{Decision, PermissionSet, decide, evaluate, session_rule_for};
pub use hooks::{
    HookCommon, HookDecision, HookEvent, HookEventName, HookHandler, HookInitError, HookInput,
    HookOptions, HookOutcome, HookPermission, HookRecord, HookRunner, HookStatus, HookTarget,
    HooksConfig, HttpRetry, MatcherGroup, SIGNATURE_HEADER, combine, sign_body,
};
pub use path::PolicyPaths;
pub use rule::{Rule, RuleErrorKind, RuleParseError};
pub use settings::{Settings, SettingsError};
pub use tool::{ToolCall, claude_tool_name};
