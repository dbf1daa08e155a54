//! The public face of the engine: create, list, message, steer, cancel and
//! delete sessions, and subscribe to their events. The other files of this
//! folder hold the rest of the API (tasks, approvals, quotas, checkpoints,
//! MCP servers, access rules, workspace cleanup, recovery at start-up).

mod access;
mod approvals;
mod checkpoints;
mod cleanup;
mod github;
mod mcp_servers;
mod pull_request;
mod quotas;
mod recovery;
mod tasks;
mod uploads;

pub use access::Reach;
pub use cleanup::WorkspaceCleanup;
pub use github::{DEFAULT_CLONE_URL, GitHubWebhooks, Handled};

use std::path::Path;
use std::sync::Arc;

use agentd_llm::ModelClient;
use agentd_protocol::event::{InputKind, StatusChanged};
use agentd_protocol::ids::prefixed_id;
use agentd_protocol::{
    CreateSessionRequest, EventData, EventEnvelope, InputAccepted, SessionId, SessionList,
    SessionStatus, SessionView, Usage, WorkspaceSpec,
};
use agentd_store::{InputRecord, SessionRecord, Store};
use agentd_tools::Registry;
use tokio_util::sync::CancellationToken;

use crate::bus::Subscription;
use crate::config::EngineConfig;
use crate::engine_state::EngineState;
use crate::error::CoreError;
use crate::event_log::now_ms;
use crate::services::Services;
use crate::session::registry::SessionRegistry;
use crate::session::teardown::{Teardown, teardown};

const MAX_PROMPT_CHARS: usize = 200_000;
const MAX_TITLE_CHARS: usize = 80;

/// The session engine. Cheap to clone.
#[derive(Clone)]
pub struct SessionManager {
    services: Arc<Services>,
    sessions: Arc<SessionRegistry>,
}

impl SessionManager {
    /// Build the engine and recover sessions a previous process left running.
    pub async fn start(
        config: EngineConfig,
        store: Store,
        model: Arc<dyn ModelClient>,
        tools: Registry,
    ) -> Result<Self, CoreError> {
        let manager = Self {
            services: Arc::new(Services::start(config, store, model, tools).await),
            sessions: Arc::new(SessionRegistry::default()),
        };
        if manager.services.config.recover_on_start {
            recovery::recover(&manager).await?;
        }
        Ok(manager)
    }

    pub fn store(&self) -> &Store {
        &self.services.store
    }

    /// Cancelled when the engine shuts down (a child: holders cannot stop
    /// the engine with it).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.services.shutdown.child_token()
    }

    pub async fn create_session(
        &self,
        req: CreateSessionRequest,
        owner_id: Option<String>,
    ) -> Result<SessionView, CoreError> {
        self.create(req, owner_id, EngineState::default()).await
    }

    /// Create a session; `state` is engine state it starts with (a task's).
    pub(crate) async fn create(
        &self,
        req: CreateSessionRequest,
        owner_id: Option<String>,
        state: EngineState,
    ) -> Result<SessionView, CoreError> {
        self.check_open()?;
        validate_text(&req.prompt, "prompt")?;
        check_workspace(&req.workspace)?;
        crate::sandbox::check(&self.services.kit.sandbox)?;
        if let Some(model) = &req.model
            && (model.trim().is_empty() || model.len() > 200)
        {
            return Err(CoreError::Invalid(
                "model must be 1 to 200 characters".into(),
            ));
        }
        if let Some(max_turns) = req.max_turns
            && !(1..=10_000).contains(&max_turns)
        {
            return Err(CoreError::Invalid(
                "max_turns must be between 1 and 10000".into(),
            ));
        }
        if let Some(budget) = &req.budget {
            crate::owner::limits::validate_budget(budget)?;
        }
        crate::owner::limits::check_new_session(&self.services, owner_id.as_deref()).await?;
        if let Some(settings) = &req.settings {
            crate::session::settings::parse(settings, "settings")?;
        }
        let mcp_servers = match &req.mcp_servers {
            Some(entries) if !entries.is_empty() => {
                // Sealing the servers needs the vault: refuse before any work.
                self.vault()?;
                mcp_servers::resolve(self, owner_id.as_deref(), entries).await?
            }
            _ => Vec::new(),
        };
        let id = SessionId::new();
        let prepared = self
            .services
            .kit
            .workspaces
            .prepare(&id.to_string(), &req.workspace)
            .await?;
        let state = EngineState {
            workspace: Some(prepared.clone()),
            ..state
        };
        match self
            .create_prepared(id, state, req, owner_id, mcp_servers)
            .await
        {
            Ok(view) => Ok(view),
            Err(e) => {
                // All or nothing: no row, worktree or branch of a session the
                // caller was told failed (a retry would otherwise pile them up).
                if let Err(cleanup) = self.services.store.delete_session(id).await {
                    tracing::warn!(%id, error = %cleanup, "cannot remove a half-made session");
                }
                if let Err(cleanup) = self.services.kit.workspaces.discard(&prepared).await {
                    tracing::warn!(%id, error = %cleanup, "cannot remove a half-made workspace");
                }
                Err(e)
            }
        }
    }

    /// The part of `create` after the workspace exists.
    async fn create_prepared(
        &self,
        id: SessionId,
        mut state: EngineState,
        req: CreateSessionRequest,
        owner_id: Option<String>,
        mcp_servers: Vec<agentd_mcp::McpServerConfig>,
    ) -> Result<SessionView, CoreError> {
        let config = &self.services.config;
        if let Some(settings) = &req.settings {
            state.settings = Some(crate::session::settings::stored(
                config.credentials.as_ref(),
                &id.to_string(),
                settings,
            )?);
        }
        let workspace_path = state
            .workspace
            .as_ref()
            .map(|w| w.path.to_string_lossy().into_owned())
            .unwrap_or_default();
        let now = now_ms();
        let title = req.title.clone().unwrap_or_else(|| title_from(&req.prompt));
        let record = SessionRecord {
            id,
            owner_id,
            title: truncate_chars(title.trim(), MAX_TITLE_CHARS),
            status: SessionStatus::Queued,
            status_reason: None,
            runtime: req.runtime.unwrap_or_default(),
            model: req
                .model
                .clone()
                .unwrap_or_else(|| config.default_model.clone()),
            permission_mode: req
                .permission_mode
                .unwrap_or(config.default_permission_mode),
            workspace: req.workspace.clone(),
            workspace_path,
            max_turns: req.max_turns,
            turns: 0,
            usage: Usage::default(),
            last_seq: 0,
            runtime_state: None,
            created_at: now,
            updated_at: now,
        };
        let mut record = record;
        state.put(&mut record);
        self.services.store.insert_session(&record).await?;
        let id = record.id;
        if let Some(budget) = &req.budget {
            self.services.store.put_session_budget(id, budget).await?;
        }
        // Without its servers it would run differently from what was asked:
        // an error here undoes the session (see `create`).
        mcp_servers::save(self, id, &mcp_servers).await?;
        let status = EventData::SessionStatus(StatusChanged {
            status: SessionStatus::Queued,
            reason: None,
        });
        self.services.log.append_durable(id, status).await?;
        self.enqueue(id, InputKind::Message, req.prompt).await?;
        self.get_session(id).await
    }

    pub async fn get_session(&self, id: SessionId) -> Result<SessionView, CoreError> {
        Ok(crate::session::view::session(&self.record(id).await?))
    }

    /// Every session, newest first (see `list_sessions_within`).
    pub async fn list_sessions(
        &self,
        status: Option<SessionStatus>,
        before: Option<SessionId>,
        limit: u32,
    ) -> Result<SessionList, CoreError> {
        self.list_sessions_within(Reach::All, status, before, limit)
            .await
    }

    /// A follow-up message: runs now if the session is free, else after the
    /// running turn (and anything queued before it).
    pub async fn send_message(
        &self,
        id: SessionId,
        text: String,
    ) -> Result<InputAccepted, CoreError> {
        self.check_open()?;
        validate_text(&text, "text")?;
        cleanup::check_workspace_kept(&self.record(id).await?)?;
        self.enqueue(id, InputKind::Message, text).await
    }

    /// A message injected into the running turn at its next tool boundary;
    /// with no turn running it starts one, like a message.
    pub async fn steer(&self, id: SessionId, text: String) -> Result<InputAccepted, CoreError> {
        self.check_open()?;
        validate_text(&text, "text")?;
        cleanup::check_workspace_kept(&self.record(id).await?)?;
        self.enqueue(id, InputKind::Steer, text).await
    }

    /// Interrupt the running turn (its model stream and tools stop) and wait
    /// briefly for it to wind down. Queued messages stay queued.
    pub async fn cancel(&self, id: SessionId) -> Result<SessionView, CoreError> {
        self.record(id).await?;
        self.sessions
            .get(id)
            .cancel_turn(self.services.config.cancel_grace)
            .await;
        self.get_session(id).await
    }

    /// Stop the session's work and remove it with its events and transcript.
    pub async fn delete_session(&self, id: SessionId) -> Result<(), CoreError> {
        self.record(id).await?;
        let live = self.sessions.get(id);
        teardown(&self.services, &live, Teardown::Delete).await?;
        self.sessions.remove(id);
        Ok(())
    }

    /// Events with `seq > after`, oldest first.
    pub async fn read_events(
        &self,
        id: SessionId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<EventEnvelope>, CoreError> {
        Ok(self
            .services
            .store
            .read_events(id, after, limit.clamp(1, 10_000))
            .await?)
    }

    /// Live events of a session from now on. Subscribe *before* reading the
    /// history, then skip what the history already gave (by `seq`).
    pub fn subscribe(&self, id: SessionId) -> Subscription {
        self.services.bus.subscribe(id)
    }

    /// Stop accepting work and interrupt every running turn.
    pub async fn shutdown(&self) {
        self.services.shutdown.cancel();
        for live in self.sessions.all() {
            // Nothing to report: a turn still stopping is simply not waited
            // for longer than the grace.
            let _ = teardown(&self.services, &live, Teardown::Shutdown).await;
        }
    }

    pub(crate) async fn record(&self, id: SessionId) -> Result<SessionRecord, CoreError> {
        self.services
            .store
            .get_session(id)
            .await?
            .ok_or(CoreError::NotFound)
    }

    fn check_open(&self) -> Result<(), CoreError> {
        if self.services.is_shutting_down() {
            return Err(CoreError::ShuttingDown);
        }
        Ok(())
    }

    /// Make the input durable, then hand it to the session's driver.
    async fn enqueue(
        &self,
        id: SessionId,
        kind: InputKind,
        text: String,
    ) -> Result<InputAccepted, CoreError> {
        let input = InputRecord {
            id: prefixed_id("in"),
            session_id: id,
            kind,
            text,
            created_at: now_ms(),
            consumed_at: None,
        };
        self.services.store.enqueue_input(&input).await?;
        let accepted_id = input.id.clone();
        let queued = self.sessions.get(id).enqueue(&self.services, input).await?;
        Ok(InputAccepted {
            input_id: accepted_id,
            kind,
            queued,
            session: self.get_session(id).await?,
        })
    }
}

fn validate_text(text: &str, field: &str) -> Result<(), CoreError> {
    if text.trim().is_empty() {
        return Err(CoreError::Invalid(format!("{field} must not be empty")));
    }
    if text.chars().count() > MAX_PROMPT_CHARS {
        return Err(CoreError::Invalid(format!(
            "{field} is longer than {MAX_PROMPT_CHARS} characters"
        )));
    }
    Ok(())
}

/// Clear errors for a local path before git gets to see it.
fn check_workspace(spec: &WorkspaceSpec) -> Result<(), CoreError> {
    let WorkspaceSpec::Path { path } = spec else {
        return Ok(());
    };
    let p = Path::new(path);
    if !p.is_absolute() {
        return Err(CoreError::WorkspaceInvalid(format!(
            "workspace path must be absolute: {path}"
        )));
    }
    match p.metadata() {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(CoreError::WorkspaceInvalid(format!(
            "workspace path is not a directory: {path}"
        ))),
        Err(e) => Err(CoreError::WorkspaceInvalid(format!(
            "workspace path {path} is not usable: {e}"
        ))),
    }
}

fn title_from(prompt: &str) -> String {
    prompt
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("untitled")
        .to_owned()
}

pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((idx, _)) => format!("{}…", &s[..idx]),
        None => s.to_owned(),
    }
}
