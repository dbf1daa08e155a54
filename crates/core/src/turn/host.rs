//! The seam between a turn and the rest of the engine.
//!
//! A turn runs where its workspace is (model calls, tools, hooks, the
//! Claude Code CLI: its `RunnerKit`). Everything else it needs goes through
//! `SessionHost`: logging events, its status, the transcript, approvals,
//! pauses and budgets, usage, the session's settings and stored secrets.
//! The engine's sessions use `LocalHost` (in process); a runner in another
//! process implements it over the wire, and the turn code stays the same.

use agentd_llm::ContentBlock;
use agentd_mcp::McpServerConfig;
use agentd_policy::Settings;
use agentd_protocol::event::ApprovalDecision;
use agentd_protocol::{CredentialProvider, EventData, SessionStatus, Usage};
use agentd_store::{
    BatchWrites, InputRecord, NewAuditEntry, Secret, SessionRecord, TranscriptEntry,
};
use async_trait::async_trait;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::error::CoreError;

#[async_trait]
pub(crate) trait SessionHost: Send + Sync {
    /// The session as it stands now.
    async fn record(&self) -> Result<SessionRecord, CoreError>;

    // --- the event log ---------------------------------------------------
    /// Appends an event (durable shortly after; see `EventLog::append`).
    async fn emit(&self, event: EventData);
    /// Events and the rows that change with them, in one transaction.
    async fn commit(&self, events: Vec<EventData>, writes: BatchWrites) -> Result<(), CoreError>;
    /// A status change (see `StatusCommit`); `record` is the row written.
    async fn commit_status(
        &self,
        record: &mut SessionRecord,
        change: StatusCommit,
    ) -> Result<(), CoreError>;
    /// The end of a turn: like `commit_status`, but `idle` becomes `queued`
    /// while input waits, and steers that missed their turn are queued.
    async fn end_turn(
        &self,
        record: &mut SessionRecord,
        end: StatusCommit,
    ) -> Result<(), CoreError>;
    /// Saves the row's mutable fields (engine state, usage, turns).
    async fn save(&self, record: &SessionRecord) -> Result<(), CoreError>;

    // --- the transcript (the model's conversation) -------------------------
    async fn transcript(&self) -> Result<Vec<TranscriptEntry>, CoreError>;
    async fn append_transcript(
        &self,
        turn: u32,
        role: &str,
        content: &[ContentBlock],
    ) -> Result<(), CoreError>;
    /// Removes what turn `turn` wrote (a prompt a hook blocked).
    async fn withdraw_transcript(&self, turn: u32) -> Result<(), CoreError>;

    // --- people and limits -------------------------------------------------
    /// Before a model call: waits while the session is paused on request or
    /// over a budget. `Ok(false)` when the turn was cancelled meanwhile.
    async fn hold(
        &self,
        record: &mut SessionRecord,
        cancel: &CancellationToken,
    ) -> Result<bool, CoreError>;
    /// Asks a person about a tool call and waits for the answer, the
    /// expiry (a decline) or `cancel` (a cancel).
    async fn ask_approval(
        &self,
        ask: ApprovalAsk,
        cancel: &CancellationToken,
    ) -> Result<Resolution, CoreError>;
    /// Steers that arrived since the last tool boundary.
    async fn take_steers(&self) -> Vec<InputRecord>;
    /// Counts one model call into the owner's ledger.
    async fn record_usage(&self, record: &SessionRecord, call: &Usage);

    // --- what the session is configured with -------------------------------
    /// The settings layers the engine holds (the repository's own layer is
    /// read by the runner from the workspace).
    async fn settings(&self, record: &SessionRecord) -> SettingsLayers;
    /// The owner's stored secret for `provider`; `None` means the server's.
    async fn owner_secret(
        &self,
        record: &SessionRecord,
        provider: CredentialProvider,
    ) -> Option<Secret>;
    /// The session's MCP servers, with their secrets.
    async fn mcp_servers(&self) -> Result<Vec<McpServerConfig>, String>;
    /// The owner's display name (for hooks and the audit log).
    async fn owner_name(&self, record: &SessionRecord) -> String;
    async fn audit(&self, entry: NewAuditEntry);
    /// Remembers the pull request a task opened, for its webhooks.
    async fn link_pull_request(&self, repo: &str, number: u64);
    /// A cancelled turn ends `interrupted` (not `cancelled`) when the
    /// engine is shutting down.
    fn shutting_down(&self) -> bool;
}

/// A tool call a person must decide on.
pub(crate) struct ApprovalAsk {
    pub(crate) call_id: String,
    pub(crate) tool: String,
    pub(crate) input: Value,
    pub(crate) reason: String,
}

/// How an approval request ended.
pub(crate) struct Resolution {
    pub(crate) decision: ApprovalDecision,
    pub(crate) message: Option<String>,
}

/// Settings the engine holds for a session, in merge order around the
/// repository's own (`.claude/settings*.json`).
#[derive(Default)]
pub(crate) struct SettingsLayers {
    /// The server's, then the owner's.
    pub(crate) before_repo: Vec<Settings>,
    /// The session's own document.
    pub(crate) after_repo: Vec<Settings>,
}

/// A status change with the events logged `before` and `after` it and other
/// `writes`, all durable together or not at all.
pub(crate) struct StatusCommit {
    pub(crate) status: SessionStatus,
    pub(crate) reason: Option<String>,
    pub(crate) before: Vec<EventData>,
    pub(crate) after: Vec<EventData>,
    pub(crate) writes: BatchWrites,
}

impl StatusCommit {
    pub(crate) fn to(status: SessionStatus, reason: Option<String>) -> Self {
        Self {
            status,
            reason,
            before: Vec::new(),
            after: Vec::new(),
            writes: BatchWrites::default(),
        }
    }

    /// What the change writes, from the row as the caller has it: the
    /// events in order (`before`, the status, `after`), the writes with the
    /// new row among them, and that row. A host commits them together.
    pub(crate) fn prepare(
        self,
        record: &SessionRecord,
    ) -> (Vec<EventData>, BatchWrites, SessionRecord) {
        let Self {
            status,
            reason,
            before,
            after,
            mut writes,
        } = self;
        let mut row = record.clone();
        row.status = status;
        row.status_reason = reason.clone();
        row.updated_at = crate::event_log::now_ms();
        let mut events = before;
        events.push(EventData::SessionStatus(
            agentd_protocol::event::StatusChanged { status, reason },
        ));
        events.extend(after);
        writes.sessions.push(row.clone());
        (events, writes, row)
    }
}
