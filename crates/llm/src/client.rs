//! The transport-neutral model client trait the core codes against.

use async_trait::async_trait;

use crate::error::LlmError;
use crate::messages::ModelRequest;
use crate::stream::{AssistantMessage, StreamEvent};

/// Decoded events of one streamed response. Dropping it aborts the request.
pub type EventStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<StreamEvent, LlmError>> + Send>>;

#[async_trait]
pub trait ModelClient: Send + Sync {
    /// Sends a streaming request. The *initial* HTTP response is retried per
    /// the client's [`RetryPolicy`](crate::RetryPolicy), as the official SDKs
    /// do; nothing is retried once events flow. Every read has the idle
    /// timeout. The stream yields [`LlmError::StreamEnded`] if the connection
    /// closes before `message_stop` and [`LlmError::Stream`] on a mid-stream
    /// `event: error`; it ends after `message_stop` or its first error.
    async fn stream(&self, request: &ModelRequest) -> Result<EventStream, LlmError>;

    /// Non-streaming create (`stream: false`), with the same retry policy.
    async fn create(&self, request: &ModelRequest) -> Result<AssistantMessage, LlmError>;

    /// Input tokens the request would use (`/v1/messages/count_tokens`).
    async fn count_tokens(&self, request: &ModelRequest) -> Result<u64, LlmError>;
}
