//! Shared setup of the engine tests: a real SQLite store in a temp dir, the
//! testkit's fakes as models, the real Claude Code CLI for claude-code.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use agentd_core::{ClaudeSettings, EngineConfig, SessionManager};
use agentd_llm::{AnthropicClient, AnthropicConfig, ModelRouter};
use agentd_protocol::{
    CreateSessionRequest, EventData, Runtime, SessionId, SessionStatus, TurnStopReason,
    WorkspaceSpec,
};
use agentd_store::Store;

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

/// An engine on a fresh SQLite store. Sessions that name no permission
/// mode bypass approvals: these tests are about other things; the
/// approvals tests set modes explicitly.
pub async fn engine(router: ModelRouter, config: EngineConfig) -> Engine {
    let config = EngineConfig {
        default_permission_mode: agentd_protocol::PermissionMode::BypassPermissions,
        ..config
    };
    let (store, db) = agentd_store::testing::sqlite_temp().await;
    let data = tempfile::tempdir().unwrap();
    let manager = start(
        store.clone(),
        router,
        EngineConfig {
            data_dir: data.path().to_owned(),
            ..config
        },
    )
    .await;
    Engine {
        manager,
        store,
        data,
        _db: db,
    }
}

/// Start an engine on an existing store (a "restart").
pub async fn start(store: Store, router: ModelRouter, config: EngineConfig) -> SessionManager {
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
