//! Test doubles for agentd. [`FakeAnthropic`] speaks the Anthropic Messages
//! API byte for byte (SSE framing, errors, rate-limit headers) and answers
//! from a script of [`Reply`]s, so every test runs offline and
//! deterministically. The same server runs standalone as `agentd-testkit
//! anthropic` for browser tests and benchmarks. [`FakeOpenAi`] does the same
//! for OpenAI-compatible Chat Completions (`agentd-testkit openai`).
//!
//! Architecture invariant: used as a dev-dependency only, and independent of
//! `agentd-llm`, so it checks the client against the protocol rather than
//! against the client's own types.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod fake;
pub mod github;
pub mod github_oauth;
pub mod openai;
mod render;
mod script;
mod server;
mod state;

pub use fake::FakeAnthropic;
pub use github::{FakeGitHub, GitHubFailure, GitHubRequest, PullStatus};
pub use openai::{FakeOpenAi, OpenAiReply, Quirk, WithQuirks};
pub use script::{ErrorEventFault, Failure, Faults, Reply, ScriptBlock, ScriptUsage, Turn, turn};
pub use state::{FakeOptions, RecordedRequest};
