//! Answering approvals: the requests a session waits on, and a person's
//! answer to one (the waiting is `session::approvals`).

use agentd_protocol::SessionId;
use agentd_protocol::event::{ApprovalDecision, PermissionRequested};

use crate::error::CoreError;
use crate::manager::SessionManager;
use crate::session::live::Answer;

impl SessionManager {
    /// Requests of a session waiting for an answer.
    pub async fn pending_approvals(
        &self,
        id: SessionId,
    ) -> Result<Vec<PermissionRequested>, CoreError> {
        self.record(id).await?;
        Ok(self.sessions.get(id).pending_approvals().await)
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
        let pending = self
            .sessions
            .get(id)
            .take_approval(request_id)
            .await
            .ok_or_else(|| CoreError::Missing(format!("no pending approval {request_id}")))?;
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
