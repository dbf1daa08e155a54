//! Drives the real Claude Code CLI as an agent runtime: finding and
//! version-checking the binary, spawning it in stream-json mode, the
//! control protocol (initialize, interrupt, `can_use_tool` permission
//! callbacks) and the mapping of its messages to agentd events.
//!
//! Architecture invariant: depends on `agentd-protocol` for the event
//! vocabulary only; it knows nothing of sessions, storage or HTTP. The
//! session engine (`agentd-core`) owns one [`ClaudeProcess`] per live
//! session, forwards its [`ClaudeEvent`]s and accounts the [`TurnResult`].
//!
//! # The process
//!
//! `claude --output-format stream-json --input-format stream-json --verbose
//! --include-partial-messages --permission-prompt-tool stdio
//! --permission-mode=… [--model=…] [--resume=…]`, in its own process group,
//! with a filtered environment (see [`SpawnOptions::env`]). One process
//! serves many turns: each [`ClaudeProcess::send_user`] is one stdin line
//! and ends in one `result` ([`ClaudeEvent::TurnEnded`]). The CLI exits only
//! when stdin closes ([`ClaudeProcess::shutdown`]).
//!
//! # What the CLI actually does (observed with 2.1.330 against the testkit)
//!
//! - With `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1` it sends nothing but
//!   the conversation's `POST /v1/messages` (streamed, with 13 tools, a
//!   ~90 KB body and `x-claude-code-session-id`): no title or summary request, no
//!   `count_tokens`. Without that variable it also sends a `HEAD /api/hello`
//!   connectivity probe. So the fake's FIFO replies map one to one to model
//!   calls and the testkit needed no changes.
//! - Each model response arrives as raw SSE `stream_event`s *and* as one
//!   `assistant` message per content block, all with the same message id,
//!   each sent when its block completes (before `message_delta`). Tools run
//!   as soon as their block is complete, so `can_use_tool` can arrive before
//!   the response's `message_stop`. The `mapper` module explains the event
//!   order we derive from that.
//! - `result.usage` is per turn, but `total_cost_usd` is cumulative over the
//!   CLI session, resumed history included; `model_usage_since_last_result`
//!   gives the turn's cost.
//! - A failed model call shows up as a synthetic assistant message
//!   (`model: "<synthetic>"`, `error: "authentication_failed"`, …) and a
//!   result with `subtype: "success"`, `is_error: true`, `api_error_status`
//!   and `terminal_reason: "api_error"`; the process stays usable but exits
//!   with code 1 when stdin closes.
//! - It retries even a 401 (with backoff, up to `CLAUDE_CODE_MAX_RETRIES`,
//!   default 10), reporting each attempt as `system/api_retry`; we surface
//!   those as retryable `error` events.
//! - `interrupt` answers at once and ends the turn with `subtype:
//!   "error_during_execution"`, `is_error: true`, `terminal_reason:
//!   "aborted_tools"` (or `aborted_streaming`), after killing the running
//!   tool's processes itself. We report that as a cancellation, not an error.
//! - The Bash tool runs each command under `setsid`, outside the CLI's
//!   process group; killing the group alone would orphan it (see `reap`).
//! - The Bash tool refuses a plain `sleep N` ("Blocked: standalone sleep"),
//!   also chained; tests that need a long command use another one.
//! - `--resume=<id>` keeps the session id and sends the stored history.
//! - Closing stdin while a `run_in_background` command runs does not end
//!   the CLI within seconds; `shutdown` then kills it and what it started.
//! - `--help` lists `manual` instead of `default` among the permission
//!   modes, but `default` is still accepted (and reported back as such).
//! - Other `system` subtypes seen (ignored): `status`, `thinking_tokens`;
//!   `user` messages carry `tool_use_result` (structured: e.g.
//!   `{"type":"create"|"update","structuredPatch":[…]}` for Write/Edit) and
//!   `tool_result_meta`.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod command;
mod control;
mod discover;
mod error;
mod files;
mod launch;
mod lines;
mod mapper;
mod process;
mod pump;
mod reap;
mod turn;
mod wire;

pub use command::SpawnOptions;
pub use control::{PermissionDecision, PermissionHandler, PermissionRequest};
pub use discover::{ClaudeCli, MIN_VERSION};
pub use error::ClaudeError;
pub use launch::CliLauncher;
pub use process::ClaudeProcess;
pub use turn::{ClaudeEvent, TurnResult};

#[doc(hidden)]
pub mod testing {
    //! For the fixture tests: feeds recorded stdout lines through the same
    //! parser and mapper the process uses.

    use std::path::PathBuf;
    use std::time::Instant;

    use crate::mapper::Mapper;
    use crate::turn::ClaudeEvent;
    use crate::wire::CliMessage;

    /// Maps NDJSON lines as a process in `cwd` would (no interrupt sent).
    pub fn map_lines(
        cwd: impl Into<PathBuf>,
        ndjson: &str,
    ) -> Result<Vec<ClaudeEvent>, serde_json::Error> {
        let mut mapper = Mapper::new(cwd.into());
        let now = Instant::now();
        let mut out = Vec::new();
        for line in ndjson.lines().filter(|l| !l.trim().is_empty()) {
            out.extend(mapper.on_message(CliMessage::parse(line.as_bytes())?, now, false));
        }
        out.extend(mapper.finish(now));
        Ok(out)
    }
}
