//! Shared setup for tests against the real Claude Code CLI and the
//! testkit's fake Anthropic API.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentd_claude::{
    ClaudeCli, ClaudeEvent, ClaudeProcess, PermissionDecision, PermissionHandler,
    PermissionRequest, SpawnOptions, TurnResult,
};
use agentd_protocol::{EventData, PermissionMode};
use agentd_testkit::FakeAnthropic;
use async_trait::async_trait;
use tempfile::TempDir;

/// The pinned CLI `scripts/test` installs, or `AGENTD_TEST_CLAUDE`.
pub fn claude_path() -> PathBuf {
    if let Some(path) = std::env::var_os("AGENTD_TEST_CLAUDE") {
        return path.into();
    }
    let home = std::env::var_os("HOME").expect("HOME is not set");
    let path = PathBuf::from(home).join(".cache/agentd-npm/node_modules/.bin/claude");
    assert!(
        path.exists(),
        "the Claude Code CLI is not installed at {}: run scripts/test (it installs the \
         pinned version) or set AGENTD_TEST_CLAUDE",
        path.display()
    );
    path
}

pub async fn cli() -> ClaudeCli {
    ClaudeCli::discover(Some(&claude_path()))
        .await
        .expect("the test CLI must be usable; run scripts/test to install it")
}

/// A fake API, a private HOME (the user's real Claude config is never
/// touched) and an empty workspace.
pub struct Harness {
    pub fake: FakeAnthropic,
    pub home: TempDir,
    pub ws: TempDir,
    pub cli: ClaudeCli,
}

impl Harness {
    pub async fn new() -> Self {
        Self {
            fake: FakeAnthropic::start().await,
            home: tempfile::tempdir().unwrap(),
            ws: tempfile::tempdir().unwrap(),
            cli: cli().await,
        }
    }

    pub fn ws_path(&self, name: &str) -> PathBuf {
        self.ws.path().join(name)
    }

    pub fn options(&self, mode: PermissionMode) -> SpawnOptions {
        let home = self.home.path().display().to_string();
        let env = [
            ("ANTHROPIC_BASE_URL", self.fake.base_url()),
            ("ANTHROPIC_API_KEY", "sk-ant-test".to_owned()),
            ("HOME", home.clone()),
            ("CLAUDE_CONFIG_DIR", format!("{home}/.claude")),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".into()),
            ("DISABLE_TELEMETRY", "1".into()),
            ("DISABLE_AUTOUPDATER", "1".into()),
            // The CLI retries even a 401 with backoff; tests want the failure now.
            ("CLAUDE_CODE_MAX_RETRIES", "0".into()),
        ];
        SpawnOptions {
            cwd: self.ws.path().to_path_buf(),
            model: Some("claude-sonnet-4-5".into()),
            permission_mode: mode,
            env: env.map(|(k, v)| (k.to_owned(), v)).into(),
            ..SpawnOptions::default()
        }
    }

    pub async fn spawn(
        &self,
        opts: SpawnOptions,
        permissions: Arc<dyn PermissionHandler>,
    ) -> ClaudeProcess {
        within(20, ClaudeProcess::spawn(&self.cli, opts, permissions))
            .await
            .expect("spawn")
    }
}

pub async fn within<F: std::future::Future>(secs: u64, future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(secs), future)
        .await
        .unwrap_or_else(|_| panic!("no answer within {secs} s"))
}

/// Reads events until the turn ends.
pub async fn run_turn(process: &mut ClaudeProcess) -> (Vec<EventData>, TurnResult) {
    let mut events = Vec::new();
    within(15, async {
        loop {
            match process.next().await {
                Some(ClaudeEvent::Event(event)) => events.push(event),
                Some(ClaudeEvent::TurnEnded(result)) => return (events, result),
                Some(ClaudeEvent::Exited { code, stderr_tail }) => {
                    panic!("the CLI exited mid-turn ({code:?}): {stderr_tail}")
                }
                None => panic!("the event stream ended mid-turn"),
            }
        }
    })
    .await
}

/// Allows everything, remembering what it was asked; denies `deny` tools.
#[derive(Default)]
pub struct Recorder {
    pub deny: Option<(String, String)>,
    pub asked: Mutex<Vec<PermissionRequest>>,
}

impl Recorder {
    pub fn allowing() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn denying(tool: &str, message: &str) -> Arc<Self> {
        Arc::new(Self {
            deny: Some((tool.into(), message.into())),
            ..Self::default()
        })
    }

    pub fn asked(&self) -> Vec<PermissionRequest> {
        self.asked.lock().unwrap().clone()
    }
}

#[async_trait]
impl PermissionHandler for Recorder {
    async fn can_use_tool(&self, request: PermissionRequest) -> PermissionDecision {
        self.asked.lock().unwrap().push(request.clone());
        match &self.deny {
            Some((tool, message)) if *tool == request.tool_name => PermissionDecision::Deny {
                message: message.clone(),
                interrupt: false,
            },
            _ => PermissionDecision::Allow {
                updated_input: request.input,
            },
        }
    }
}

/// Event types with tool names, deltas left out (their chunking is the fake's).
pub fn shape(events: &[EventData]) -> Vec<String> {
    events
        .iter()
        .filter(|e| !matches!(e, EventData::TextDelta(_) | EventData::ThinkingDelta(_)))
        .map(|e| match e {
            EventData::ToolStarted(t) => format!("tool.started {}", t.tool),
            EventData::ToolCompleted(t) => format!("tool.completed {} ok={}", t.tool, t.ok),
            EventData::FileChanged(f) => format!("file.changed {}", f.path),
            other => other.event_type().to_owned(),
        })
        .collect()
}

pub fn text_of(events: &[EventData]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            EventData::TextDelta(d) => Some(d.text.as_str()),
            _ => None,
        })
        .collect()
}

/// Waits until the CLI has at least `n` live descendants; returns them.
pub async fn wait_for_descendants(process: &ClaudeProcess, n: usize) -> Vec<u32> {
    within(10, async {
        loop {
            let found = process.descendants();
            if found.len() >= n {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

/// Waits until none of `pids` is a live process (zombies count as gone).
pub async fn wait_until_gone(pids: &[u32]) {
    let alive = |pid: &u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                let state = stat
                    .rsplit_once(')')?
                    .1
                    .split_whitespace()
                    .next()?
                    .to_owned();
                Some(state != "Z" && state != "X")
            })
            .unwrap_or(false)
    };
    let waited = tokio::time::timeout(Duration::from_secs(3), async {
        while pids.iter().any(alive) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let left: Vec<&u32> = pids.iter().filter(|p| alive(p)).collect();
    assert!(waited.is_ok(), "still running after 3 s: {left:?}");
}

/// The last user message's content of a model request, as JSON text.
pub fn last_user_content(request: &serde_json::Value) -> String {
    let messages = request["messages"].as_array().unwrap();
    messages.last().unwrap()["content"].to_string()
}
