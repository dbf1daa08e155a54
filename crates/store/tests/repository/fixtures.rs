//! Builders for records with every field set to something distinctive.

use agentd_protocol::event::{Delta, StatusChanged, TurnStarted};
use agentd_protocol::session::GitSource;
use agentd_protocol::{
    EventData, EventEnvelope, PermissionMode, Runtime, SessionId, SessionStatus, Usage,
    WorkspaceSpec,
};
use agentd_store::{SessionRecord, truncate_to_ms};
use serde_json::json;
use time::OffsetDateTime;

/// Now, at the precision the store keeps.
pub fn now() -> OffsetDateTime {
    truncate_to_ms(OffsetDateTime::now_utc())
}

/// A session with every optional field set and awkward values.
pub fn full_session() -> SessionRecord {
    let created = now();
    SessionRecord {
        id: SessionId::new(),
        owner_id: Some("user-42".into()),
        title: "Fix the flaky test — ünïcode".into(),
        status: SessionStatus::BlockedOnApproval,
        status_reason: Some("waiting for bash approval".into()),
        runtime: Runtime::ClaudeCode,
        model: "claude-sonnet-4-5".into(),
        permission_mode: PermissionMode::AcceptEdits,
        workspace: WorkspaceSpec::Git {
            git: GitSource {
                url: "https://example.com/r.git".into(),
                branch: Some("main".into()),
            },
        },
        workspace_path: "/var/lib/agentd/work/abc".into(),
        max_turns: Some(25),
        turns: 3,
        usage: Usage {
            input_tokens: (1 << 53) + 1,
            output_tokens: 2_000,
            cache_read_tokens: 30_000,
            cache_write_tokens: 4,
            cost_usd: 0.1 + 0.2,
        },
        last_seq: 0,
        runtime_state: Some(json!({"claude_session_id": "cc-1", "nested": [1, 2.5, null]})),
        created_at: created,
        updated_at: created + time::Duration::milliseconds(1500),
    }
}

/// A session with every optional field empty.
pub fn minimal_session() -> SessionRecord {
    let created = now();
    SessionRecord {
        id: SessionId::new(),
        owner_id: None,
        title: String::new(),
        status: SessionStatus::Queued,
        status_reason: None,
        runtime: Runtime::Builtin,
        model: "m".into(),
        permission_mode: PermissionMode::Default,
        workspace: WorkspaceSpec::Path {
            path: "/tmp/w".into(),
        },
        workspace_path: "/tmp/w".into(),
        max_turns: None,
        turns: 0,
        usage: Usage::default(),
        last_seq: 0,
        runtime_state: None,
        created_at: created,
        updated_at: created,
    }
}

pub fn with_status(status: SessionStatus) -> SessionRecord {
    SessionRecord {
        status,
        ..minimal_session()
    }
}

/// Event `seq` of a session; the kind varies with `seq` so several shapes
/// are stored.
pub fn event(session_id: SessionId, seq: u64) -> EventEnvelope {
    let event = match seq % 3 {
        0 => EventData::SessionStatus(StatusChanged {
            status: SessionStatus::Running,
            reason: None,
        }),
        1 => EventData::TextDelta(Delta {
            message_id: "msg_1".into(),
            text: format!("part {seq} ✓"),
        }),
        _ => EventData::TurnStarted(TurnStarted {
            turn: 1,
            input: "go".into(),
        }),
    };
    // Sub-millisecond noise, which the store truncates.
    let ts = OffsetDateTime::now_utc() + time::Duration::nanoseconds(123_456);
    EventEnvelope {
        seq,
        session_id,
        ts,
        event,
    }
}

/// `events` as they read back: timestamps at millisecond precision.
pub fn as_stored(events: &[EventEnvelope]) -> Vec<EventEnvelope> {
    events
        .iter()
        .map(|e| EventEnvelope {
            ts: truncate_to_ms(e.ts),
            ..e.clone()
        })
        .collect()
}

pub fn events(session_id: SessionId, seqs: std::ops::RangeInclusive<u64>) -> Vec<EventEnvelope> {
    seqs.map(|seq| event(session_id, seq)).collect()
}
