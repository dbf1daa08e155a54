//! Approvals: a tool call that needs a person waits here.
//!
//! The request is an event (`permission.requested`, with an expiry) and the
//! session shows `blocked_on_approval`; the owner answers over REST or
//! WebSocket; no answer before the expiry means deny, with an event, so a
//! session never hangs on an approval and never passes one silently.

use std::sync::Arc;
use std::time::Duration;

use agentd_protocol::event::{ApprovalDecision, PermissionRequested, PermissionResolved};
use agentd_protocol::ids::prefixed_id;
use agentd_protocol::{EventData, SessionId, SessionStatus};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use agentd_policy::HookInput;

use crate::error::CoreError;
use crate::hooks::SessionHooks;
use crate::log::now_ms;
use crate::manager::{Live, SessionManager};
use crate::turn::Turn;

/// A request waiting in the session's live state.
pub(crate) struct Pending {
    pub(crate) request: PermissionRequested,
    answer: oneshot::Sender<Answer>,
}

struct Answer {
    decision: ApprovalDecision,
    by: String,
    message: Option<String>,
}

/// How a request ended.
pub(crate) struct Resolution {
    pub(crate) decision: ApprovalDecision,
    pub(crate) message: Option<String>,
}

/// Who is asking: the session and its running turn. Built from a builtin
/// turn or from the claude-code runtime's permission callback alike.
pub(crate) struct Asker<'a> {
    pub(crate) manager: &'a SessionManager,
    pub(crate) live: &'a Arc<Live>,
    pub(crate) id: SessionId,
    pub(crate) cancel: CancellationToken,
}

impl<'a> Asker<'a> {
    pub(crate) fn for_turn(turn: &'a Turn<'a>) -> Self {
        Self {
            manager: turn.manager,
            live: turn.live,
            id: turn.id,
            cancel: turn.cancel.clone(),
        }
    }

    async fn set_status(
        &self,
        status: SessionStatus,
        reason: Option<String>,
    ) -> Result<(), CoreError> {
        let mut record = self.manager.record(self.id).await?;
        crate::status::change_status(&self.manager.inner, &mut record, status, reason).await
    }

    /// `Notification` hooks (`permission_prompt`), in the background: a
    /// slow hook must not delay the request or its expiry.
    fn notify(&self, tool: &str, call_id: &str) {
        let manager = self.manager.clone();
        let id = self.id;
        let call_id = call_id.to_owned();
        let message = format!("agentd needs your permission to use {tool}");
        tokio::spawn(async move {
            let Ok(record) = manager.record(id).await else {
                return;
            };
            if let Some(hooks) = SessionHooks::load(&manager.inner, &record).await {
                let input = HookInput::Notification {
                    message,
                    title: Some("Permission needed".to_owned()),
                    notification_type: "permission_prompt".to_owned(),
                };
                hooks.run(&manager.inner, input, Some(&call_id)).await;
            }
        });
    }

    /// Ask the owner about a tool call and wait for the answer, the expiry
    /// or the turn's cancellation (which answers `cancel`).
    pub(crate) async fn ask(
        &self,
        call_id: &str,
        tool: &str,
        input: &Value,
        reason: String,
    ) -> Result<Resolution, CoreError> {
        let inner = &self.manager.inner;
        let timeout = inner.config.approval_timeout;
        let expires_at = now_ms() + timeout;
        let request = PermissionRequested {
            request_id: prefixed_id("perm"),
            call_id: call_id.to_owned(),
            tool: tool.to_owned(),
            input: input.clone(),
            reason,
            expires_at,
        };
        // Status first, then the request is registered, then announced:
        // whoever sees the event can already answer it, and sees the
        // session blocked.
        self.set_status(
            SessionStatus::BlockedOnApproval,
            Some(format!("waiting for approval of {tool}")),
        )
        .await?;
        let (tx, rx) = oneshot::channel();
        self.live.state.lock().await.approvals.push(Pending {
            request: request.clone(),
            answer: tx,
        });
        inner
            .log
            .append_durable(self.id, EventData::PermissionRequested(request.clone()))
            .await?;
        self.notify(tool, call_id);

        let answer = tokio::select! {
            answer = rx => answer.unwrap_or(Answer { decision: ApprovalDecision::Cancel, by: "system".into(), message: None }),
            _ = tokio::time::sleep(Duration::try_from(timeout).unwrap_or(Duration::ZERO)) => Answer {
                decision: ApprovalDecision::Decline,
                by: "timeout".into(),
                message: Some(format!("nobody approved {tool} before {expires_at}; it was denied")),
            },
            _ = self.cancel.cancelled() => Answer { decision: ApprovalDecision::Cancel, by: "cancel".into(), message: None },
        };
        self.live
            .state
            .lock()
            .await
            .approvals
            .retain(|p| p.request.request_id != request.request_id);
        let resolved = PermissionResolved {
            request_id: request.request_id,
            call_id: request.call_id,
            decision: answer.decision,
            by: answer.by,
            message: answer.message.clone(),
        };
        inner
            .log
            .append_durable(self.id, EventData::PermissionResolved(resolved))
            .await?;
        if !self.cancel.is_cancelled() {
            self.set_status(SessionStatus::Running, None).await?;
        }
        Ok(Resolution {
            decision: answer.decision,
            message: answer.message,
        })
    }
}

impl SessionManager {
    /// Requests of a session waiting for an answer.
    pub async fn pending_approvals(
        &self,
        id: SessionId,
    ) -> Result<Vec<PermissionRequested>, CoreError> {
        self.record(id).await?;
        let live = self.live(id);
        let state = live.state.lock().await;
        Ok(state.approvals.iter().map(|p| p.request.clone()).collect())
    }

    /// Answer a waiting request. `by` is who answered (a user id).
    pub async fn answer_approval(
        &self,
        id: SessionId,
        request_id: &str,
        decision: ApprovalDecision,
        message: Option<String>,
        by: String,
    ) -> Result<(), CoreError> {
        self.record(id).await?;
        let live = self.live(id);
        let mut state = live.state.lock().await;
        let index = state
            .approvals
            .iter()
            .position(|p| p.request.request_id == request_id)
            .ok_or_else(|| CoreError::Missing(format!("no pending approval {request_id}")))?;
        let pending = state.approvals.remove(index);
        // The turn may have given up at this very moment (expiry); then the
        // answer has nobody to go to, which is what Missing says.
        pending
            .answer
            .send(Answer {
                decision,
                by,
                message,
            })
            .map_err(|_| CoreError::Missing(format!("approval {request_id} is no longer waiting")))
    }
}
