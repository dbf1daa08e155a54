//! Approvals: a tool call that needs a person waits here.
//!
//! The request is an event (`permission.requested`, with an expiry) and the
//! session shows `blocked_on_approval`; the owner answers over REST or
//! WebSocket; no answer before the expiry means deny, with an event, so a
//! session never hangs on an approval and never passes one silently.

use std::time::Duration;

use agentd_protocol::event::{ApprovalDecision, PermissionRequested, PermissionResolved};
use agentd_protocol::ids::prefixed_id;
use agentd_protocol::{EventData, SessionStatus};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use agentd_policy::HookInput;

use crate::error::CoreError;
use crate::event_log::now_ms;
use crate::session::host::LocalHost;
use crate::session::live::{Answer, PendingApproval};
use crate::turn::StatusCommit;
use crate::turn::hooks::SessionHooks;
use crate::turn::{ApprovalAsk, Resolution, SessionHost};

impl LocalHost {
    async fn set_status(
        &self,
        status: SessionStatus,
        reason: Option<String>,
    ) -> Result<(), CoreError> {
        let mut record = self.record().await?;
        StatusCommit::to(status, reason)
            .commit(&self.services, &mut record)
            .await
    }

    /// `Notification` hooks (`permission_prompt`), in the background: a
    /// slow hook must not delay the request or its expiry.
    fn notify(&self, tool: &str, call_id: &str) {
        let host = self.clone();
        let call_id = call_id.to_owned();
        let message = format!("agentd needs your permission to use {tool}");
        tokio::spawn(async move {
            let Ok(record) = host.record().await else {
                return;
            };
            let kit = host.services.kit.clone();
            if let Some(hooks) = SessionHooks::load(&host, &kit, &record).await {
                let input = HookInput::Notification {
                    message,
                    title: Some("Permission needed".to_owned()),
                    notification_type: "permission_prompt".to_owned(),
                };
                hooks.run(&host, input, Some(&call_id)).await;
            }
        });
    }

    /// Ask the owner about a tool call and wait for the answer, the expiry
    /// or the turn's cancellation (which answers `cancel`).
    pub(super) async fn ask(
        &self,
        ask: ApprovalAsk,
        cancel: &CancellationToken,
    ) -> Result<Resolution, CoreError> {
        let timeout = self.services.config.approval_timeout;
        let expires_at = now_ms() + timeout;
        let ApprovalAsk {
            call_id,
            tool,
            input,
            reason,
        } = ask;
        let request = PermissionRequested {
            request_id: prefixed_id("perm"),
            call_id: call_id.clone(),
            tool: tool.clone(),
            input,
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
        self.live
            .add_approval(PendingApproval {
                request: request.clone(),
                answer: tx,
            })
            .await;
        self.services
            .log
            .append_durable(self.id, EventData::PermissionRequested(request.clone()))
            .await?;
        self.notify(&tool, &call_id);

        let answer = tokio::select! {
            answer = rx => answer.unwrap_or(Answer { decision: ApprovalDecision::Cancel, by: "system".into(), message: None }),
            _ = tokio::time::sleep(Duration::try_from(timeout).unwrap_or(Duration::ZERO)) => Answer {
                decision: ApprovalDecision::Decline,
                by: "timeout".into(),
                message: Some(format!("nobody approved {tool} before {expires_at}; it was denied")),
            },
            _ = cancel.cancelled() => Answer { decision: ApprovalDecision::Cancel, by: "cancel".into(), message: None },
        };
        self.live.drop_approval(&request.request_id).await;
        let resolved = PermissionResolved {
            request_id: request.request_id,
            call_id: request.call_id,
            decision: answer.decision,
            by: answer.by,
            message: answer.message.clone(),
        };
        self.services
            .log
            .append_durable(self.id, EventData::PermissionResolved(resolved))
            .await?;
        if !cancel.is_cancelled() {
            self.set_status(SessionStatus::Running, None).await?;
        }
        Ok(Resolution {
            decision: answer.decision,
            message: answer.message,
        })
    }
}
