//! The in-process engine of benchmarks 1 and 8: a `SessionManager` on a
//! SQLite file (as core's parity test) with a model fake, running one
//! scripted task at a time and timing it from `create_session` to the
//! session settling.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentd_core::{ClaudeSettings, EngineConfig, SessionManager};
use agentd_llm::{AnthropicClient, AnthropicConfig, ModelRouter};
use agentd_protocol::{CreateSessionRequest, EventData, EventEnvelope, Runtime, SessionStatus};
use agentd_testkit::{FakeAnthropic, turn};
use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

use crate::stampfake::{Script, StampFake};

/// The model fake behind an engine: ours (TCP_NODELAY) for the figures,
/// the testkit's for comparison.
pub enum Model {
    Stamp(StampFake),
    Testkit(FakeAnthropic),
}

impl Model {
    fn base_url(&self) -> String {
        match self {
            Self::Stamp(f) => f.base_url(),
            Self::Testkit(f) => f.base_url(),
        }
    }

    fn reset(&self) {
        match self {
            Self::Stamp(f) => f.reset(),
            Self::Testkit(f) => f.reset(),
        }
    }

    /// Queues one turn of `{"type": "text"|"tool_use", …}` blocks.
    fn push(&self, blocks: Vec<Value>) {
        match self {
            Self::Stamp(f) => f.push_turn(blocks),
            Self::Testkit(f) => {
                let t = blocks.iter().fold(turn(), |t, b| match b["type"].as_str() {
                    Some("tool_use") => {
                        t.tool_use(b["name"].as_str().unwrap_or_default(), b["input"].clone())
                    }
                    _ => t.text(b["text"].as_str().unwrap_or_default()),
                });
                f.push(t);
            }
        }
    }

    /// The bodies of the model requests so far.
    pub fn bodies(&self) -> Vec<Value> {
        match self {
            Self::Stamp(f) => f.bodies(),
            Self::Testkit(f) => f.message_requests(),
        }
    }
}

pub fn text(t: &str) -> Value {
    json!({"type": "text", "text": t})
}

pub fn tool(name: &str, input: Value) -> Value {
    json!({"type": "tool_use", "name": name, "input": input})
}

/// One runtime's engine, started once: its start-up is not in the timings.
pub struct Engine {
    pub manager: SessionManager,
    pub fake: Model,
    pub runtime: Runtime,
    _dirs: Vec<tempfile::TempDir>,
}

impl Engine {
    pub async fn start(runtime: Runtime, testkit: bool) -> Result<Self> {
        let fake = if testkit {
            Model::Testkit(FakeAnthropic::start().await)
        } else {
            Model::Stamp(StampFake::start(Script::Turns).await?)
        };
        let db = tempfile::tempdir()?;
        let data = tempfile::tempdir()?;
        let home = tempfile::tempdir()?;
        let store = agentd_store::Store::open_sqlite(&db.path().join("agentd.db")).await?;
        let claude = ClaudeSettings {
            path: Some(crate::claude_cli()),
            env: [
                ("ANTHROPIC_BASE_URL", fake.base_url()),
                ("ANTHROPIC_API_KEY", "sk-ant-bench".to_owned()),
                ("HOME", home.path().display().to_string()),
                (
                    "CLAUDE_CONFIG_DIR",
                    home.path().join(".claude").display().to_string(),
                ),
                ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_owned()),
                ("CLAUDE_CODE_MAX_RETRIES", "0".to_owned()),
            ]
            .map(|(k, v)| (k.to_owned(), v))
            .into(),
        };
        let config = EngineConfig {
            data_dir: data.path().to_owned(),
            claude,
            ..EngineConfig::default()
        };
        let router = ModelRouter::new(
            AnthropicClient::new(AnthropicConfig::for_tests(fake.base_url()))?,
            None,
        );
        let manager = SessionManager::start(
            config,
            store,
            Arc::new(router),
            agentd_tools::Registry::builtin(),
        )
        .await?;
        Ok(Self {
            manager,
            fake,
            runtime,
            _dirs: vec![db, data, home],
        })
    }

    /// Pushes `script`, runs one session on a fresh workspace and returns
    /// (create → session idle again, its events).
    pub async fn run_task(
        &self,
        script: Vec<Vec<Value>>,
        workspace: &Path,
        limit: Duration,
    ) -> Result<(Duration, Vec<EventEnvelope>)> {
        self.fake.reset();
        for t in script {
            self.fake.push(t);
        }
        // Built from JSON so fields others add to the request (all optional)
        // do not break this crate. The tools run without approval prompts:
        // nobody is there to answer them, and waiting is not overhead.
        let request: CreateSessionRequest = serde_json::from_value(json!({
            "prompt": "write notes.txt and check it",
            "workspace": {"path": workspace},
            "runtime": self.runtime,
            "model": "claude-sonnet-4-5",
            "permission_mode": "bypassPermissions",
        }))?;
        let t0 = Instant::now();
        let id = self.manager.create_session(request, None).await?.id;
        let mut live = self.manager.subscribe(id);
        // Done at the first settled status after turn.completed; that event
        // carries the status (the session row may be updated just after it).
        let settled = |e: &EventEnvelope, seen_turn_end: bool| match &e.event {
            EventData::SessionStatus(s) if seen_turn_end && !s.status.is_active() => Some(s.status),
            _ => None,
        };
        // The turn may have ended before we subscribed: check the log once.
        let mut ended = false;
        let mut outcome = None;
        for e in self.manager.read_events(id, 0, 10_000).await? {
            ended |= e.event_type() == "turn.completed";
            if let Some(status) = settled(&e, ended) {
                outcome = Some((t0.elapsed(), status));
            }
        }
        let deadline = tokio::time::Instant::now() + limit;
        while outcome.is_none() {
            let event = tokio::time::timeout_at(deadline, live.recv())
                .await
                .context("task timed out")??;
            ended |= event.envelope.event_type() == "turn.completed";
            if let Some(status) = settled(&event.envelope, ended) {
                outcome = Some((t0.elapsed(), status));
            }
        }
        let (elapsed, status) = outcome.ok_or_else(|| anyhow!("no end"))?;
        let events = self.manager.read_events(id, 0, 10_000).await?;
        if status != SessionStatus::Idle {
            bail!(
                "{:?} task ended {status:?}: {:?}",
                self.runtime,
                events
                    .iter()
                    .map(agentd_protocol::EventEnvelope::event_type)
                    .collect::<Vec<_>>()
            );
        }
        Ok((elapsed, events))
    }
}

/// The task, with each runtime's own tool names (the CLI's Write takes an
/// absolute path).
pub fn script(runtime: Runtime, workspace: &Path) -> Vec<Vec<Value>> {
    let (write, key, path, bash) = match runtime {
        Runtime::Builtin => ("write_file", "path", "notes.txt".to_owned(), "bash"),
        Runtime::ClaudeCode => (
            "Write",
            "file_path",
            workspace.join("notes.txt").display().to_string(),
            "Bash",
        ),
    };
    vec![
        vec![
            text("I'll write the notes."),
            tool(write, json!({key: path, "content": "remember the milk\n"})),
        ],
        vec![
            text("Checking."),
            tool(bash, json!({"command": "cat notes.txt"})),
        ],
        vec![text("Done: notes.txt is written.")],
    ]
}
