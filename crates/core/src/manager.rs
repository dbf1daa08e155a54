//! The public face of the engine: create, list, message, steer, cancel and
//! delete sessions, and subscribe to their events.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex as StdMutex, PoisonError};

use agentd_llm::ModelClient;
use agentd_protocol::event::{InputKind, InputQueued, StatusChanged};
use agentd_protocol::ids::prefixed_id;
use agentd_protocol::{
    CreateSessionRequest, EventData, EventEnvelope, InputAccepted, SessionId, SessionList,
    SessionStatus, SessionView, Usage, WorkspaceSpec,
};
use agentd_store::{InputRecord, SessionRecord, Store};
use agentd_tools::Registry;
use tokio::sync::{Mutex, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::bus::{EventBus, Subscription};
use crate::config::EngineConfig;
use agentd_policy::HookInput;

use crate::error::CoreError;
use crate::hooks::SessionHooks;
use crate::log::{EventLog, now_ms};

const MAX_PROMPT_CHARS: usize = 200_000;
const MAX_TITLE_CHARS: usize = 80;

/// Shared engine state; every session task holds an `Arc` of it.
pub(crate) struct Inner {
    pub(crate) config: EngineConfig,
    pub(crate) store: Store,
    pub(crate) model: Arc<dyn ModelClient>,
    pub(crate) tools: Arc<Registry>,
    /// How tools run: bubblewrap, or none by explicit choice; an error
    /// (bubblewrap missing) makes sessions refuse to start.
    pub(crate) sandbox: Result<agentd_sandbox::SandboxMode, String>,
    pub(crate) bus: Arc<EventBus>,
    pub(crate) log: EventLog,
    pub(crate) workspaces: agentd_workspace::WorkspaceManager,
    /// The Claude Code CLI, found on first use (then cached).
    pub(crate) claude_cli: tokio::sync::OnceCell<agentd_claude::ClaudeCli>,
    pub(crate) live: StdMutex<HashMap<SessionId, Arc<Live>>>,
    /// Cancelled on shutdown: running turns end as `interrupted`.
    pub(crate) shutdown: CancellationToken,
}

/// In-memory state of a session that has (or recently had) work.
#[derive(Default)]
pub(crate) struct Live {
    pub(crate) state: Mutex<LiveState>,
    /// Woken whenever a turn ends.
    pub(crate) turn_ended: Notify,
    /// Woken by a resume (or raised limits): a paused turn checks again.
    pub(crate) resumed: Notify,
    /// The Claude Code process of a claude-code session, kept across turns.
    pub(crate) claude: Mutex<Option<agentd_claude::ClaudeProcess>>,
    /// The private directory holding the CLI's `--mcp-config` file; removed
    /// with the process.
    pub(crate) claude_mcp_dir: Mutex<Option<tempfile::TempDir>>,
    /// The session's connected MCP servers (builtin runtime).
    pub(crate) mcp: Mutex<Option<crate::mcp_session::SessionMcp>>,
}

#[derive(Default)]
pub(crate) struct LiveState {
    /// Follow-up messages waiting for the running turn to end.
    pub(crate) queue: VecDeque<InputRecord>,
    /// Steers waiting for the next tool boundary.
    pub(crate) steers: Vec<InputRecord>,
    pub(crate) running: bool,
    pub(crate) turn_cancel: Option<CancellationToken>,
    pub(crate) driver: Option<JoinHandle<()>>,
    /// Tool calls waiting for a person.
    pub(crate) approvals: Vec<crate::approvals::Pending>,
    /// Pause before the next model call (`POST …/pause`) until resumed.
    pub(crate) pause_requested: bool,
    /// `SessionStart` hooks ran for this session in this process.
    pub(crate) started: bool,
    /// Tool calls (by id) a `PreToolUse` hook asked a person about, on the
    /// claude-code runtime: the CLI's `can_use_tool` for them must ask
    /// whatever the rules say.
    pub(crate) hook_asks: HashMap<String, String>,
}

/// The session engine. Cheap to clone.
#[derive(Clone)]
pub struct SessionManager {
    pub(crate) inner: Arc<Inner>,
}

impl Inner {
    /// Every session with in-memory state, at this moment.
    pub(crate) fn lives(&self) -> Vec<Arc<Live>> {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    pub(crate) async fn claude_cli(
        &self,
    ) -> Result<agentd_claude::ClaudeCli, agentd_claude::ClaudeError> {
        let explicit = self.config.claude.path.as_deref();
        self.claude_cli
            .get_or_try_init(|| agentd_claude::ClaudeCli::discover(explicit))
            .await
            .cloned()
    }
}

impl SessionManager {
    /// Build the engine and recover sessions a previous process left running.
    pub async fn start(
        config: EngineConfig,
        store: Store,
        model: Arc<dyn ModelClient>,
        tools: Registry,
    ) -> Result<Self, CoreError> {
        let bus = Arc::new(EventBus::new(config.subscriber_buffer));
        let log = EventLog::start(store.clone(), bus.clone());
        let workspaces =
            agentd_workspace::WorkspaceManager::new(&config.data_dir, config.workspace_limits);
        let sandbox = crate::sandbox::detect(config.sandbox).await;
        let manager = Self {
            inner: Arc::new(Inner {
                workspaces,
                claude_cli: tokio::sync::OnceCell::new(),
                config,
                store,
                model,
                tools: Arc::new(tools),
                sandbox,
                bus,
                log,
                live: StdMutex::new(HashMap::new()),
                shutdown: CancellationToken::new(),
            }),
        };
        if manager.inner.config.recover_on_start {
            crate::recovery::recover(&manager).await?;
        }
        Ok(manager)
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Cancelled when the engine shuts down (a child: holders cannot stop
    /// the engine with it).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.inner.shutdown.child_token()
    }

    pub fn bus(&self) -> &EventBus {
        &self.inner.bus
    }

    pub async fn create_session(
        &self,
        req: CreateSessionRequest,
        owner_id: Option<String>,
    ) -> Result<SessionView, CoreError> {
        self.create(req, owner_id, None).await
    }

    /// Create a session; `extra` is a piece of engine state stored with it
    /// from the start (a task's settings).
    pub(crate) async fn create(
        &self,
        req: CreateSessionRequest,
        owner_id: Option<String>,
        extra: Option<(&str, serde_json::Value)>,
    ) -> Result<SessionView, CoreError> {
        self.check_open()?;
        validate_text(&req.prompt, "prompt")?;
        check_workspace(&req.workspace)?;
        crate::sandbox::check(&self.inner.sandbox)?;
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
            crate::quota::validate_budget(budget)?;
        }
        crate::quota::check_new_session(&self.inner, owner_id.as_deref()).await?;
        if let Some(settings) = &req.settings {
            crate::settings::parse(settings, "settings")?;
        }
        let mcp_servers = match &req.mcp_servers {
            Some(entries) if !entries.is_empty() => {
                // Sealing the servers needs the vault: refuse before any work.
                self.vault()?;
                crate::mcp_session::resolve(self, owner_id.as_deref(), entries).await?
            }
            _ => Vec::new(),
        };
        let id = SessionId::new();
        let prepared = crate::workspace::prepare(&self.inner, id, &req.workspace).await?;
        match self
            .create_prepared(id, &prepared, req, owner_id, extra, mcp_servers)
            .await
        {
            Ok(view) => Ok(view),
            Err(e) => {
                // All or nothing: no row, worktree or branch of a session the
                // caller was told failed (a retry would otherwise pile them up).
                if let Err(cleanup) = self.inner.store.delete_session(id).await {
                    tracing::warn!(%id, error = %cleanup, "cannot remove a half-made session");
                }
                if let Err(cleanup) = self.inner.workspaces.discard(&prepared).await {
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
        prepared: &agentd_workspace::Prepared,
        req: CreateSessionRequest,
        owner_id: Option<String>,
        extra: Option<(&str, serde_json::Value)>,
        mcp_servers: Vec<agentd_mcp::McpServerConfig>,
    ) -> Result<SessionView, CoreError> {
        let mut runtime_state = crate::workspace::state_with(prepared, extra);
        if let (Some(settings), serde_json::Value::Object(map)) =
            (&req.settings, &mut runtime_state)
        {
            let stored = crate::settings::stored(&self.inner, &id.to_string(), settings)?;
            map.insert(crate::settings::key().to_owned(), stored);
        }
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
                .unwrap_or_else(|| self.inner.config.default_model.clone()),
            permission_mode: req
                .permission_mode
                .unwrap_or(self.inner.config.default_permission_mode),
            workspace: req.workspace.clone(),
            workspace_path: prepared.path.to_string_lossy().into_owned(),
            max_turns: req.max_turns,
            turns: 0,
            usage: Usage::default(),
            last_seq: 0,
            runtime_state: Some(runtime_state),
            created_at: now,
            updated_at: now,
        };
        self.inner.store.insert_session(&record).await?;
        let id = record.id;
        if let Some(budget) = &req.budget {
            self.inner.store.put_session_budget(id, budget).await?;
        }
        // Without its servers it would run differently from what was asked:
        // an error here undoes the session (see `create`).
        crate::mcp_session::save(self, id, &mcp_servers).await?;
        let status = EventData::SessionStatus(StatusChanged {
            status: SessionStatus::Queued,
            reason: None,
        });
        self.inner.log.append_durable(id, status).await?;
        self.enqueue(id, InputKind::Message, req.prompt).await?;
        self.get_session(id).await
    }

    pub async fn get_session(&self, id: SessionId) -> Result<SessionView, CoreError> {
        Ok(crate::workspace::view(&self.record(id).await?))
    }

    /// Every session, newest first (see `list_sessions_within`).
    pub async fn list_sessions(
        &self,
        status: Option<SessionStatus>,
        before: Option<SessionId>,
        limit: u32,
    ) -> Result<SessionList, CoreError> {
        self.list_sessions_within(crate::Reach::All, status, before, limit)
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
        crate::cleanup::check_workspace_kept(&self.record(id).await?)?;
        self.enqueue(id, InputKind::Message, text).await
    }

    /// A message injected into the running turn at its next tool boundary;
    /// with no turn running it starts one, like a message.
    pub async fn steer(&self, id: SessionId, text: String) -> Result<InputAccepted, CoreError> {
        self.check_open()?;
        validate_text(&text, "text")?;
        crate::cleanup::check_workspace_kept(&self.record(id).await?)?;
        self.enqueue(id, InputKind::Steer, text).await
    }

    /// Interrupt the running turn (its model stream and tools stop) and wait
    /// briefly for it to wind down. Queued messages stay queued.
    pub async fn cancel(&self, id: SessionId) -> Result<SessionView, CoreError> {
        self.record(id).await?;
        let live = self.live(id);
        let ended = live.turn_ended.notified();
        tokio::pin!(ended);
        let cancelled = {
            let state = live.state.lock().await;
            match &state.turn_cancel {
                Some(token) if state.running => {
                    ended.as_mut().enable();
                    token.cancel();
                    true
                }
                _ => false,
            }
        };
        if cancelled {
            let _ = tokio::time::timeout(self.inner.config.cancel_grace, ended).await;
        }
        self.get_session(id).await
    }

    /// Stop the session's work and remove it with its events and transcript.
    pub async fn delete_session(&self, id: SessionId) -> Result<(), CoreError> {
        self.record(id).await?;
        let live = self.live(id);
        let driver = {
            let mut state = live.state.lock().await;
            state.queue.clear();
            state.steers.clear();
            if let Some(token) = &state.turn_cancel {
                token.cancel();
            }
            state.driver.take()
        };
        if let Some(driver) = driver
            && tokio::time::timeout(self.inner.config.cancel_grace, driver)
                .await
                .is_err()
        {
            return Err(CoreError::Conflict(
                "the session's turn is still stopping; retry".into(),
            ));
        }
        if let Some(process) = live.claude.lock().await.take() {
            process.shutdown().await;
        }
        if let Ok(record) = self.record(id).await
            && let Some(hooks) = SessionHooks::load(&self.inner, &record).await
        {
            let input = HookInput::SessionEnd {
                reason: "delete".to_owned(),
            };
            hooks.quiet().run(&self.inner, input, None).await;
        }
        live.claude_mcp_dir.lock().await.take();
        crate::mcp_session::close(&live).await;
        self.inner.store.delete_session(id).await?;
        crate::claude_sandbox::remove_home(&self.inner.config.data_dir, id).await;
        self.inner.log.forget(id).await;
        self.inner.bus.close(id);
        self.inner
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
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
            .inner
            .store
            .read_events(id, after, limit.clamp(1, 10_000))
            .await?)
    }

    /// Live events of a session from now on. Subscribe *before* reading the
    /// history, then skip what the history already gave (by `seq`).
    pub fn subscribe(&self, id: SessionId) -> Subscription {
        self.inner.bus.subscribe(id)
    }

    /// Stop accepting work and interrupt every running turn.
    pub async fn shutdown(&self) {
        self.inner.shutdown.cancel();
        let drivers = self.inner.lives();
        for live in drivers {
            let driver = live.state.lock().await.driver.take();
            if let Some(driver) = driver {
                let _ = tokio::time::timeout(self.inner.config.cancel_grace, driver).await;
            }
            // The next start resumes the Claude session with `--resume`.
            if let Some(process) = live.claude.lock().await.take() {
                process.shutdown().await;
            }
            live.claude_mcp_dir.lock().await.take();
            crate::mcp_session::close(&live).await;
        }
    }

    pub(crate) async fn record(&self, id: SessionId) -> Result<SessionRecord, CoreError> {
        self.inner
            .store
            .get_session(id)
            .await?
            .ok_or(CoreError::NotFound)
    }

    pub(crate) fn live(&self, id: SessionId) -> Arc<Live> {
        self.inner
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(id)
            .or_default()
            .clone()
    }

    fn check_open(&self) -> Result<(), CoreError> {
        if self.inner.shutdown.is_cancelled() {
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
        self.inner.store.enqueue_input(&input).await?;
        let live = self.live(id);
        let mut state = live.state.lock().await;
        let queued = state.running;
        if queued {
            let event = EventData::InputQueued(InputQueued {
                input_id: input.id.clone(),
                kind,
                text: input.text.clone(),
            });
            self.inner.log.append_durable(id, event).await?;
        }
        let accepted_id = input.id.clone();
        match kind {
            InputKind::Steer if state.running => state.steers.push(input),
            InputKind::Steer | InputKind::Message => state.queue.push_back(input),
        }
        if !state.running {
            self.mark_queued(id).await?;
            state.running = true;
            state.driver = Some(tokio::spawn(crate::driver::drive(
                self.clone(),
                live.clone(),
                id,
            )));
        }
        drop(state);
        Ok(InputAccepted {
            input_id: accepted_id,
            kind,
            queued,
            session: self.get_session(id).await?,
        })
    }

    /// An idle session with new work is `queued` until its driver starts the
    /// turn, so a crash in between is recovered, not forgotten.
    async fn mark_queued(&self, id: SessionId) -> Result<(), CoreError> {
        let mut record = self.record(id).await?;
        if record.status == SessionStatus::Queued {
            return Ok(());
        }
        crate::status::change_status(&self.inner, &mut record, SessionStatus::Queued, None).await
    }

    /// Hand inputs recovered from the store to a driver (used at start-up).
    pub(crate) async fn schedule_recovered(&self, id: SessionId, inputs: Vec<InputRecord>) {
        let live = self.live(id);
        let mut state = live.state.lock().await;
        state.queue.extend(inputs);
        if !state.running && !state.queue.is_empty() {
            state.running = true;
            state.driver = Some(tokio::spawn(crate::driver::drive(
                self.clone(),
                live.clone(),
                id,
            )));
        }
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
