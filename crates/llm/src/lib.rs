//! Model clients for agentd: the Anthropic Messages API and OpenAI-compatible
//! Chat Completions behind the [`ModelClient`] trait (chosen per model by
//! [`ModelRouter`]), typed stream events and their accumulator, retry
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
pub mod openai;
pub mod profile;
pub mod request;
pub mod retry;
pub mod router;
mod sse;
pub mod stream;

/// The SSE decoders as the clients use them, for the fuzz targets in
/// `fuzz/` (a separate cargo project); not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::openai::sse::decode as decode_openai_sse;
    pub use crate::sse::decode as decode_anthropic_sse;
}

pub use accumulator::{MessageAccumulator, collect};
pub use anthropic::AnthropicClient;
pub use client::{EventStream, ModelClient};
pub use config::{AnthropicConfig, ApiKey};
pub use error::{ApiErrorKind, LlmError};
pub use messages::{ContentBlock, Message, ModelRequest, Role, ToolDefinition};
pub use openai::{OpenAiClient, OpenAiConfig};
pub use profile::{ModelProfile, OPENAI_COMPATIBLE, Pricing, ThinkingMode, profile_for};
pub use request::{build_body, build_count_tokens_body};
pub use retry::RetryPolicy;
pub use router::ModelRouter;
pub use stream::{AssistantMessage, Delta, StopReason, StreamEvent, TokenUsage};
