//! `LocalHost`: the engine's own side of the turn seam, for turns that run
//! in this process. Each call goes to the store, the event log or the
//! session's live state, exactly as a remote runner's calls will.

use std::sync::Arc;

use agentd_llm::ContentBlock;
use agentd_mcp::McpServerConfig;
use agentd_protocol::{CredentialProvider, EventData, SessionId, SessionStatus, Usage};
use agentd_store::{
    BatchWrites, InputRecord, NewAuditEntry, Secret, SessionRecord, TranscriptEntry,
};
use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::error::CoreError;
use crate::owner::limits::{BUDGET_REASON, PAUSED_REASON};
use crate::services::Services;
use crate::session::live::LiveSession;
use crate::turn::StatusCommit;
use crate::turn::{ApprovalAsk, Resolution, SessionHost, SettingsLayers};

#[derive(Clone)]
pub(crate) struct LocalHost {
    pub(super) services: Arc<Services>,
    pub(super) live: Arc<LiveSession>,
    pub(super) id: SessionId,
}

impl LocalHost {
    pub(crate) fn new(services: Arc<Services>, live: Arc<LiveSession>) -> Self {
        let id = live.id();
        Self { services, live, id }
    }
}

#[async_trait]
impl SessionHost for LocalHost {
    async fn record(&self) -> Result<SessionRecord, CoreError> {
        self.services
            .store
            .get_session(self.id)
            .await?
            .ok_or(CoreError::NotFound)
    }

    async fn emit(&self, event: EventData) {
        self.services.log.append(self.id, event).await;
    }

    async fn commit(&self, events: Vec<EventData>, writes: BatchWrites) -> Result<(), CoreError> {
        self.services.log.commit(self.id, events, writes).await?;
        Ok(())
    }

    async fn commit_status(
        &self,
        record: &mut SessionRecord,
        change: StatusCommit,
    ) -> Result<(), CoreError> {
        change.commit(&self.services, record).await
    }

    async fn end_turn(
        &self,
        record: &mut SessionRecord,
        end: StatusCommit,
    ) -> Result<(), CoreError> {
        self.live.end_turn(&self.services, record, end).await
    }

    async fn save(&self, record: &SessionRecord) -> Result<(), CoreError> {
        self.services.store.update_session(record).await?;
        Ok(())
    }

    async fn transcript(&self) -> Result<Vec<TranscriptEntry>, CoreError> {
        Ok(self.services.store.load_transcript(self.id).await?)
    }

    async fn append_transcript(
        &self,
        turn: u32,
        role: &str,
        content: &[ContentBlock],
    ) -> Result<(), CoreError> {
        let content = serde_json::to_value(content).unwrap_or_default();
        self.services
            .store
            .append_transcript(self.id, turn, &[(role.to_owned(), content)])
            .await?;
        Ok(())
    }

    async fn withdraw_transcript(&self, turn: u32) -> Result<(), CoreError> {
        self.services
            .store
            .withdraw_transcript_turn(self.id, turn)
            .await?;
        Ok(())
    }

    async fn hold(
        &self,
        record: &mut SessionRecord,
        cancel: &CancellationToken,
    ) -> Result<bool, CoreError> {
        let mut paused = false;
        loop {
            // Registered before the checks, so a resume between them is not lost.
            let resumed = self.live.resumed();
            tokio::pin!(resumed);
            resumed.as_mut().enable();
            let requested = self.live.pause_requested().await;
            let hit = if requested {
                None
            } else {
                crate::owner::limits::over_budget(&self.services, record).await?
            };
            if !requested && hit.is_none() {
                if paused {
                    StatusCommit::to(SessionStatus::Running, None)
                        .commit(&self.services, record)
                        .await?;
                }
                return Ok(true);
            }
            if !paused || record.status != SessionStatus::Paused {
                let reason = match hit {
                    Some(hit) => {
                        tracing::info!(id = %self.id, message = %hit.message, "session paused by a budget");
                        self.emit(EventData::BudgetExceeded(hit)).await;
                        BUDGET_REASON
                    }
                    None => PAUSED_REASON,
                };
                StatusCommit::to(SessionStatus::Paused, Some(reason.to_owned()))
                    .commit(&self.services, record)
                    .await?;
                paused = true;
            }
            tokio::select! {
                () = &mut resumed => {}
                () = cancel.cancelled() => return Ok(false),
            }
        }
    }

    async fn ask_approval(
        &self,
        ask: ApprovalAsk,
        cancel: &CancellationToken,
    ) -> Result<Resolution, CoreError> {
        self.ask(ask, cancel).await
    }

    async fn take_steers(&self) -> Vec<InputRecord> {
        self.live.take_steers().await
    }

    async fn record_usage(&self, record: &SessionRecord, call: &Usage) {
        crate::owner::limits::record(&self.services.store, record, call, record.updated_at).await;
    }

    async fn settings(&self, record: &SessionRecord) -> SettingsLayers {
        crate::session::settings::layers(&self.services, record).await
    }

    async fn owner_secret(
        &self,
        record: &SessionRecord,
        provider: CredentialProvider,
    ) -> Option<Secret> {
        let vault = self.services.config.credentials.as_ref()?;
        crate::owner::credentials::owner_secret(vault, record, provider).await
    }

    async fn mcp_servers(&self) -> Result<Vec<McpServerConfig>, String> {
        let Some(vault) = self.services.config.credentials.as_ref() else {
            return Ok(Vec::new());
        };
        let document = vault
            .session_mcp(&self.id.to_string())
            .await
            .map_err(|e| e.to_string())?;
        match document {
            None => Ok(Vec::new()),
            Some(document) => serde_json::from_str(document.expose())
                .map_err(|e| format!("the session's MCP servers cannot be read: {e}")),
        }
    }

    async fn owner_name(&self, record: &SessionRecord) -> String {
        match &record.owner_id {
            Some(owner) => match self.services.store.get_user(owner).await {
                Ok(Some(user)) => user.name,
                _ => owner.clone(),
            },
            None => "agentd".to_owned(),
        }
    }

    async fn audit(&self, entry: NewAuditEntry) {
        let now = time::OffsetDateTime::now_utc();
        if let Err(e) = self.services.store.append_audit(&entry, now).await {
            tracing::error!(id = %self.id, error = %e, "cannot write to the audit log");
        }
    }

    async fn link_pull_request(&self, repo: &str, number: u64) {
        // So a `pull_request` closed webhook finds this task.
        if let Err(e) = self
            .services
            .store
            .link_task_pull_request(repo, number, self.id)
            .await
        {
            tracing::warn!(id = %self.id, error = %e, "cannot remember the task's pull request");
        }
    }

    fn shutting_down(&self) -> bool {
        self.services.is_shutting_down()
    }
}
