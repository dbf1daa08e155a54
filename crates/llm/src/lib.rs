//! Model clients for agentd: the Anthropic Messages API behind the
//! [`ModelClient`] trait, typed stream events and their accumulator, retry
//! policy as data, per-model profiles and the request body builder.
//!
//! Architecture invariant: no dependency on store, server or core; this crate
//! knows the model wire protocol and nothing about sessions.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod accumulator;
pub mod anthropic;
pub mod client;
pub mod config;
pub mod error;
pub mod messages;
pub mod profile;
pub mod request;
pub mod retry;
mod sse;
pub mod stream;

pub use accumulator::{MessageAccumulator, collect};
pub use anthropic::AnthropicClient;
pub use client::{EventStream, ModelClient};
pub use config::{AnthropicConfig, ApiKey};
pub use error::{ApiErrorKind, LlmError};
pub use messages::{ContentBlock, Message, ModelRequest, Role, ToolDefinition};
pub use profile::{ModelProfile, Pricing, ThinkingMode, profile_for};
pub use request::{build_body, build_count_tokens_body};
pub use retry::RetryPolicy;
pub use stream::{AssistantMessage, Delta, StopReason, StreamEvent, TokenUsage};
