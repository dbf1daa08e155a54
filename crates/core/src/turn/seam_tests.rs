//! A whole builtin turn driven through the `SessionHost` seam alone: no
//! manager, no store. The recording host below is everything the turn can
//! reach; what it records is what a remote runner would send back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use agentd_llm::{AnthropicClient, AnthropicConfig, ContentBlock, ModelRouter};
use agentd_mcp::McpServerConfig;
use agentd_protocol::event::{ApprovalDecision, InputKind};
use agentd_protocol::{
    CredentialProvider, EventData, PermissionMode, SessionId, SessionStatus, TurnStopReason, Usage,
    WorkspaceSpec,
};
use agentd_sandbox::SandboxMode;
use agentd_store::{
    BatchWrites, InputRecord, NewAuditEntry, Secret, SessionRecord, TranscriptEntry,
};
use agentd_testkit::{FakeAnthropic, turn};
use async_trait::async_trait;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::config::EngineConfig;

/// What reached the outside world, in order.
#[derive(Default)]
struct Recorded {
    events: Vec<EventData>,
    /// Transcript messages as (turn, role, content).
    transcript: Vec<(u32, String, Value)>,
    consumed: Vec<String>,
    /// Approvals asked, as (tool, input).
    asks: Vec<(String, Value)>,
    usage_calls: u32,
}

struct RecordingHost {
    record: Mutex<SessionRecord>,
    recorded: Mutex<Recorded>,
    steers: Mutex<Vec<InputRecord>>,
    answer: ApprovalDecision,
}

impl RecordingHost {
    fn write(&self, events: Vec<EventData>, writes: BatchWrites) {
        let mut recorded = self.recorded.lock().unwrap();
        recorded.events.extend(events);
        recorded
            .consumed
            .extend(writes.consumed.into_iter().map(|(id, _)| id));
        recorded.transcript.extend(
            writes
                .transcript
                .into_iter()
                .map(|t| (t.turn, t.role.to_owned(), t.content)),
        );
        if let Some(row) = writes.sessions.last() {
            *self.record.lock().unwrap() = row.clone();
        }
    }

    fn status(&self, record: &mut SessionRecord, change: StatusCommit) {
        let (events, writes, row) = change.prepare(record);
        *record = row;
        self.write(events, writes);
    }
}

#[async_trait]
impl SessionHost for RecordingHost {
    async fn record(&self) -> Result<SessionRecord, CoreError> {
        Ok(self.record.lock().unwrap().clone())
    }
    async fn emit(&self, event: EventData) {
        self.recorded.lock().unwrap().events.push(event);
    }
    async fn commit(&self, events: Vec<EventData>, writes: BatchWrites) -> Result<(), CoreError> {
        self.write(events, writes);
        Ok(())
    }
    async fn commit_status(
        &self,
        record: &mut SessionRecord,
        change: StatusCommit,
    ) -> Result<(), CoreError> {
        self.status(record, change);
        Ok(())
    }
    async fn end_turn(
        &self,
        record: &mut SessionRecord,
        end: StatusCommit,
    ) -> Result<(), CoreError> {
        self.status(record, end);
        Ok(())
    }
    async fn save(&self, record: &SessionRecord) -> Result<(), CoreError> {
        *self.record.lock().unwrap() = record.clone();
        Ok(())
    }
    async fn transcript(&self) -> Result<Vec<TranscriptEntry>, CoreError> {
        let recorded = self.recorded.lock().unwrap();
        Ok(recorded
            .transcript
            .iter()
            .enumerate()
            .map(|(seq, (turn, role, content))| TranscriptEntry {
                seq: u32::try_from(seq).unwrap(),
                turn: *turn,
                role: role.clone(),
                content: content.clone(),
            })
            .collect())
    }
    async fn append_transcript(
        &self,
        turn: u32,
        role: &str,
        content: &[ContentBlock],
    ) -> Result<(), CoreError> {
        let content = serde_json::to_value(content).unwrap();
        let mut recorded = self.recorded.lock().unwrap();
        recorded.transcript.push((turn, role.to_owned(), content));
        Ok(())
    }
    async fn withdraw_transcript(&self, turn: u32) -> Result<(), CoreError> {
        let mut recorded = self.recorded.lock().unwrap();
        recorded.transcript.retain(|(t, _, _)| *t != turn);
        Ok(())
    }
    async fn hold(
        &self,
        _record: &mut SessionRecord,
        _cancel: &CancellationToken,
    ) -> Result<bool, CoreError> {
        Ok(true)
    }
    async fn ask_approval(
        &self,
        ask: ApprovalAsk,
        _cancel: &CancellationToken,
    ) -> Result<Resolution, CoreError> {
        let mut recorded = self.recorded.lock().unwrap();
        recorded.asks.push((ask.tool, ask.input));
        Ok(Resolution {
            decision: self.answer,
            message: None,
        })
    }
    async fn take_steers(&self) -> Vec<InputRecord> {
        std::mem::take(&mut *self.steers.lock().unwrap())
    }
    async fn record_usage(&self, _record: &SessionRecord, _call: &Usage) {
        self.recorded.lock().unwrap().usage_calls += 1;
    }
    async fn settings(&self, _record: &SessionRecord) -> SettingsLayers {
        SettingsLayers::default()
    }
    async fn owner_secret(
        &self,
        _record: &SessionRecord,
        _provider: CredentialProvider,
    ) -> Option<Secret> {
        None
    }
    async fn mcp_servers(&self) -> Result<Vec<McpServerConfig>, String> {
        Ok(Vec::new())
    }
    async fn owner_name(&self, _record: &SessionRecord) -> String {
        "tester".to_owned()
    }
    async fn audit(&self, _entry: NewAuditEntry) {}
    async fn link_pull_request(&self, _repo: &str, _number: u64) {}
    fn shutting_down(&self) -> bool {
        false
    }
}

fn input(id: SessionId, kind: InputKind, text: &str) -> InputRecord {
    InputRecord {
        id: agentd_protocol::ids::prefixed_id("in"),
        session_id: id,
        kind,
        text: text.to_owned(),
        created_at: time::OffsetDateTime::now_utc(),
        consumed_at: None,
    }
}

fn session(id: SessionId, workspace: &std::path::Path) -> SessionRecord {
    let path = workspace.to_string_lossy().into_owned();
    SessionRecord {
        id,
        owner_id: None,
        title: "seam".into(),
        status: SessionStatus::Queued,
        status_reason: None,
        runtime: agentd_protocol::Runtime::Builtin,
        model: "claude-sonnet-4-5".into(),
        permission_mode: PermissionMode::Default,
        workspace: WorkspaceSpec::Path { path: path.clone() },
        workspace_path: path,
        max_turns: None,
        turns: 0,
        usage: Usage::default(),
        last_seq: 0,
        runtime_state: None,
        created_at: time::OffsetDateTime::now_utc(),
        updated_at: time::OffsetDateTime::now_utc(),
    }
}

fn kit(fake: &FakeAnthropic, data_dir: &std::path::Path) -> Arc<RunnerKit> {
    let config = EngineConfig {
        data_dir: data_dir.to_owned(),
        ..EngineConfig::default()
    };
    let model = ModelRouter::new(
        AnthropicClient::new(AnthropicConfig::for_tests(fake.base_url())).unwrap(),
        None,
    );
    Arc::new(RunnerKit::new(
        &config,
        Arc::new(model),
        agentd_tools::Registry::builtin(),
        Ok(SandboxMode::None),
    ))
}

#[tokio::test]
async fn a_builtin_turn_reaches_the_world_only_through_its_host() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().tool_use("bash", json!({"command": "echo hello > out.txt"})));
    fake.push(turn().text("all done"));
    let workspace = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let id = SessionId::new();
    let prompt = input(id, InputKind::Message, "write out.txt");
    let steer = input(id, InputKind::Steer, "and then stop");
    let host = Arc::new(RecordingHost {
        record: Mutex::new(session(id, workspace.path())),
        recorded: Mutex::default(),
        steers: Mutex::new(vec![steer.clone()]),
        answer: ApprovalDecision::Accept,
    });

    let ended = run_turn(
        host.clone(),
        kit(&fake, data.path()),
        Arc::new(RunnerSession::default()),
        prompt.clone(),
        CancellationToken::new(),
    )
    .await;

    assert_eq!(ended, Some(SessionStatus::Idle));
    // The tool ran in the workspace, after a person (the host) allowed it.
    let written = std::fs::read_to_string(workspace.path().join("out.txt")).unwrap();
    assert_eq!(written.trim(), "hello");
    let recorded = host.recorded.lock().unwrap();
    assert_eq!(
        recorded.asks,
        vec![(
            "bash".to_owned(),
            json!({"command": "echo hello > out.txt"})
        )]
    );
    // The input and the steer were taken, each with its message.
    assert_eq!(recorded.consumed, vec![prompt.id.clone(), steer.id.clone()]);
    let transcript: Vec<(String, Vec<String>)> = recorded
        .transcript
        .iter()
        .map(|(turn, role, content)| {
            assert_eq!(*turn, 1);
            let kinds = content
                .as_array()
                .unwrap()
                .iter()
                .map(|b| match b["type"].as_str().unwrap() {
                    "text" => format!("text:{}", b["text"].as_str().unwrap()),
                    other => other.to_owned(),
                })
                .collect();
            (role.clone(), kinds)
        })
        .collect();
    assert_eq!(
        transcript,
        vec![
            ("user".into(), vec!["text:write out.txt".into()]),
            ("assistant".into(), vec!["tool_use".into()]),
            (
                "user".into(),
                vec!["tool_result".into(), "text:and then stop".into()]
            ),
            ("assistant".into(), vec!["text:all done".into()]),
        ]
    );
    // The events, without the streaming deltas in between.
    let kinds: Vec<&str> = recorded
        .events
        .iter()
        .map(EventData::event_type)
        .filter(|kind| !kind.ends_with(".delta"))
        .collect();
    assert_eq!(
        kinds,
        vec![
            "session.status",
            "turn.started",
            "message.started",
            "message.completed",
            "usage",
            "tool.started",
            "tool.completed",
            "message.completed",
            "message.started",
            "message.completed",
            "usage",
            "turn.completed",
            "session.status",
        ]
    );
    let statuses: Vec<SessionStatus> = recorded
        .events
        .iter()
        .filter_map(|e| match e {
            EventData::SessionStatus(s) => Some(s.status),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, vec![SessionStatus::Running, SessionStatus::Idle]);
    assert!(recorded.events.iter().any(|e| matches!(
        e,
        EventData::ToolCompleted(done) if done.ok && done.tool == "bash"
    )));
    assert!(recorded.events.iter().any(|e| matches!(
        e,
        EventData::TurnCompleted(done) if done.stop_reason == TurnStopReason::EndTurn && done.turn == 1
    )));
    assert_eq!(recorded.usage_calls, 2);
    // The session row the host holds moved on with the turn.
    let row = host.record.lock().unwrap();
    assert_eq!((row.turns, row.status), (1, SessionStatus::Idle));
    // The model saw the tool's result and the steer in its second request.
    let second = &fake.message_requests()[1];
    let last = second["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .to_string();
    assert!(
        last.contains("tool_result") && last.contains("and then stop"),
        "{last}"
    );
}

#[tokio::test]
async fn a_declined_call_never_runs_and_is_counted() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().tool_use("bash", json!({"command": "touch nope"})));
    fake.push(turn().text("understood"));
    let workspace = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let id = SessionId::new();
    let host = Arc::new(RecordingHost {
        record: Mutex::new(session(id, workspace.path())),
        recorded: Mutex::default(),
        steers: Mutex::default(),
        answer: ApprovalDecision::Decline,
    });
    let ended = run_turn(
        host.clone(),
        kit(&fake, data.path()),
        Arc::new(RunnerSession::default()),
        input(id, InputKind::Message, "make a file"),
        CancellationToken::new(),
    )
    .await;

    assert_eq!(ended, Some(SessionStatus::Idle));
    assert!(!workspace.path().join("nope").exists());
    let recorded = host.recorded.lock().unwrap();
    assert_eq!(recorded.asks.len(), 1);
    assert!(recorded.events.iter().any(|e| matches!(
        e,
        EventData::TurnCompleted(done) if done.denied == 1
    )));
    assert_eq!(
        host.record.lock().unwrap().status_reason.as_deref(),
        Some("1 tool call(s) were denied")
    );
}
