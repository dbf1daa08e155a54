//! Test doubles for agentd. [`FakeAnthropic`] speaks the Anthropic Messages
//! API byte for byte (SSE framing, errors, rate-limit headers) and answers
//! from a script of [`Reply`]s, so every test runs offline and
//! deterministically. The same server runs standalone as `agentd-testkit
//! anthropic` for browser tests and benchmarks. [`FakeOpenAi`] does the same
//! for OpenAI-compatible Chat Completions (`agentd-testkit openai`).
//! [`FakeGitHub`] is the slice of GitHub's REST API agentd calls, and
//! [`github_oauth::FakeGitHubOAuth`] GitHub's sign-in flow.
//!
//! Every fake serves on the same kind of server (`http::FakeServer`), which
//! records each request it receives as a [`RecordedRequest`].
//!
//! Architecture invariant: used as a dev-dependency only, and independent of
//! `agentd-llm`, so it checks the client against the protocol rather than
//! against the client's own types.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod anthropic;
pub mod github;
pub mod github_oauth;
mod http;
mod model;
pub mod openai;
mod resolve;
mod script;
mod stream;

pub use anthropic::FakeAnthropic;
pub use github::{FakeGitHub, GitHubFailure, PullStatus};
pub use http::RecordedRequest;
pub use openai::{FakeOpenAi, OpenAiReply, Quirk, WithQuirks};
pub use script::{ErrorEventFault, Failure, Faults, Reply, ScriptBlock, ScriptUsage, Turn, turn};
pub use stream::FakeOptions;
