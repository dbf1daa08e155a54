//! Shared setup of the engine tests: a real SQLite store in a temp dir, the
//! testkit's fakes as models, the real Claude Code CLI for claude-code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use agentd_core::{ClaudeSettings, EngineConfig, SessionManager};
use agentd_llm::{AnthropicClient, AnthropicConfig, ModelRouter};
use agentd_protocol::{
    CreateSessionRequest, EventData, PermissionMode, Runtime, SessionId, SessionStatus,
    TurnStopReason, WorkspaceSpec,
};
use agentd_store::{CredentialVault, MasterKey, Store};
use agentd_testkit::FakeAnthropic;

/// A running engine on its own SQLite store and data dir.
pub struct Engine {
    pub manager: SessionManager,
    pub store: Store,
    pub data: tempfile::TempDir,
    _db: tempfile::TempDir,
}

/// A router that sends everything to the Anthropic fake at `url`.
pub fn anthropic(url: String) -> ModelRouter {
    ModelRouter::new(
        AnthropicClient::new(AnthropicConfig::for_tests(url)).unwrap(),
        None,
    )
}

/// How a test gets an engine: a fresh SQLite store and data dir, the model
/// it names, the real builtin tools. Sessions that name no permission mode
/// bypass approvals (these tests are about other things; the approvals
/// tests set modes per session).
pub struct TestEngine {
    router: ModelRouter,
    config: EngineConfig,
    vault: bool,
}

impl TestEngine {
    pub fn new(router: ModelRouter) -> Self {
        Self {
            router,
            config: EngineConfig::default(),
            vault: false,
        }
    }

    /// The model is the Anthropic fake.
    pub fn anthropic(fake: &FakeAnthropic) -> Self {
        Self::new(anthropic(fake.base_url()))
    }

    /// Starts from `config` (its data dir and default mode are the
    /// builder's).
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    pub fn with(mut self, change: impl FnOnce(&mut EngineConfig)) -> Self {
        change(&mut self.config);
        self
    }

    /// A credential vault (fresh master key) on the engine's store, for
    /// what needs one (MCP servers, owners' keys).
    pub fn with_vault(mut self) -> Self {
        self.vault = true;
        self
    }

    pub async fn start(self) -> Engine {
        let (store, db) = agentd_store::testing::sqlite_temp().await;
        let data = tempfile::tempdir().unwrap();
        let mut config = EngineConfig {
            data_dir: data.path().to_owned(),
            default_permission_mode: PermissionMode::BypassPermissions,
            ..self.config
        };
        if self.vault {
            config.credentials = Some(CredentialVault::new(store.clone(), MasterKey::generate()));
        }
        let manager = launch(store.clone(), self.router, config).await;
        Engine {
            manager,
            store,
            data,
            _db: db,
        }
    }
}

impl Engine {
    /// Another engine on this one's store and data dir, as after a
    /// restart (stop this one first), with `config` for the rest.
    pub async fn restart(&self, router: ModelRouter, config: EngineConfig) -> SessionManager {
        let config = EngineConfig {
            data_dir: self.data.path().to_owned(),
            default_permission_mode: PermissionMode::BypassPermissions,
            ..config
        };
        launch(self.store.clone(), router, config).await
    }
}

async fn launch(store: Store, router: ModelRouter, config: EngineConfig) -> SessionManager {
    SessionManager::start(
        config,
        store,
        Arc::new(router),
        agentd_tools::Registry::builtin(),
    )
    .await
    .unwrap()
}

/// The Claude Code CLI scripts/test installs.
pub fn claude_cli() -> PathBuf {
    match std::env::var_os("AGENTD_TEST_CLAUDE") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(std::env::var_os("HOME").expect("HOME"))
            .join(".cache/agentd-npm/node_modules/.bin/claude"),
    }
}

/// The CLI against the fake at `url`, with a private HOME so the user's
/// own Claude configuration is never read or written.
pub fn claude(url: String, home: &Path) -> ClaudeSettings {
    ClaudeSettings {
        path: Some(claude_cli()),
        env: [
            ("ANTHROPIC_BASE_URL", url),
            ("ANTHROPIC_API_KEY", "sk-ant-engine-test".to_owned()),
            ("HOME", home.display().to_string()),
            (
                "CLAUDE_CONFIG_DIR",
                home.join(".claude").display().to_string(),
            ),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_owned()),
            ("CLAUDE_CODE_MAX_RETRIES", "0".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v))
        .into(),
    }
}

pub fn request(
    workspace: &Path,
    prompt: &str,
    runtime: Runtime,
    model: Option<&str>,
) -> CreateSessionRequest {
    CreateSessionRequest {
        prompt: prompt.into(),
        workspace: WorkspaceSpec::Path {
            path: workspace.to_string_lossy().into_owned(),
        },
        runtime: Some(runtime),
        model: model.map(str::to_owned),
        permission_mode: None,
        title: None,
        max_turns: None,
        budget: None,
        settings: None,
        mcp_servers: None,
    }
}

/// Wait until no turn is queued or running; returns the status.
pub async fn settle(manager: &SessionManager, id: SessionId) -> SessionStatus {
    for _ in 0..800 {
        let status = manager.get_session(id).await.unwrap().status;
        if !status.is_active() {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("session {id} never settled");
}

pub async fn wait_for(manager: &SessionManager, id: SessionId, status: SessionStatus) {
    for _ in 0..800 {
        if manager.get_session(id).await.unwrap().status == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{id} never became {status}");
}

/// The stop reason of the session's last turn.
pub async fn last_stop(manager: &SessionManager, id: SessionId) -> TurnStopReason {
    let events = manager.read_events(id, 0, 10_000).await.unwrap();
    events
        .iter()
        .rev()
        .find_map(|e| match &e.event {
            EventData::TurnCompleted(done) => Some(done.stop_reason),
            _ => None,
        })
        .expect("a turn.completed event")
}
