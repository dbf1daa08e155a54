//! The answer to a webhook delivery (`POST /api/v1/webhooks/github`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::SessionId;

/// What agentd did with a delivery. GitHub shows this body in the hook's
/// "Recent Deliveries", so it is written for a person reading it there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookAck {
    /// The `X-GitHub-Delivery` id.
    pub delivery: String,
    /// The `X-GitHub-Event` name.
    pub event: String,
    pub outcome: WebhookOutcome,
    /// The task the delivery started or ended, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<SessionId>,
    /// Why, in words.
    pub note: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookOutcome {
    /// A `ping`: the hook is set up correctly.
    Pong,
    /// This delivery id was seen before; nothing was done again.
    Duplicate,
    /// A task was started.
    TaskStarted,
    /// A task's pull request was closed or merged, and the task updated.
    TaskUpdated,
    /// Nothing to do (another event, action, or no mention).
    Ignored,
}
