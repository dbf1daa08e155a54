//! agentd's side of GitHub: webhook deliveries checked and decoded
//! ([`verify_signature`], [`parse_event`]), the pure decision whether one
//! starts a task ([`WebhookEvent::task_trigger`]) or ends one
//! ([`WebhookEvent::pr_closed`]), and a small REST client
//! ([`GitHubClient`]) for pull requests and comments.
//!
//! Architecture invariant: no server, store or session types. Webhook
//! handling is pure (bytes in, values out) so the server owns all I/O,
//! idempotency and authorisation; the REST client talks to any base URL so
//! tests run against the testkit's `FakeGitHub`.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod client;
mod error;
mod repo;
mod signature;
mod trigger;
pub mod webhook;

pub use client::{
    Comment, DEFAULT_BASE_URL, GitHubClient, NewPullRequest, PullRequest, PullRequestInfo,
    PullRequestState,
};
pub use error::GitHubError;
pub use repo::parse_repo;
pub use signature::{SIGNATURE_HEADER, sign, verify_signature};
pub use trigger::{ClosedPullRequest, TaskTrigger, TriggerConfig, TriggerSource, mention};
pub use webhook::{WebhookError, WebhookEvent, parse_event};
