#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Start-up recovery against the states a crash could leave before taking
//! an input, starting its turn, ending it and writing its status were each
//! one transaction: the log is the truth, a completed turn is never marked
//! again, and every acknowledged input runs.

use agentd_core::{EngineConfig, SessionManager};
use agentd_protocol::event::{InputKind, StatusChanged};
use agentd_protocol::{
    EventData, EventEnvelope, Runtime, SessionId, SessionStatus, TurnStopReason,
};
use agentd_store::{InputRecord, Store};
use agentd_testkit::{FakeAnthropic, turn};

use crate::common;
use crate::common::TestEngine;

/// An engine whose one session finished its first turn, then stopped.
async fn one_finished_turn(fake: &FakeAnthropic) -> (common::Engine, tempfile::TempDir, SessionId) {
    fake.set_default(turn().text("done"));
    let engine = TestEngine::anthropic(fake).start().await;
    let workspace = tempfile::tempdir().unwrap();
    let req = common::request(workspace.path(), "first", Runtime::Builtin, None);
    let id = engine.manager.create_session(req, None).await.unwrap().id;
    common::wait_for(&engine.manager, id, SessionStatus::Idle).await;
    engine.manager.shutdown().await;
    (engine, workspace, id)
}

async fn restart(engine: &common::Engine, fake: &FakeAnthropic) -> SessionManager {
    engine
        .restart(common::anthropic(fake.base_url()), EngineConfig::default())
        .await
}

async fn append(store: &Store, id: SessionId, event: EventData) {
    let seq = store.last_seq(id).await.unwrap() + 1;
    let envelope = EventEnvelope {
        seq,
        session_id: id,
        ts: agentd_store::truncate_to_ms(time::OffsetDateTime::now_utc()),
        event,
    };
    store.append_events(&[envelope]).await.unwrap();
}

/// A `session.status` event alone, as a process that died right after
/// logging it left it.
async fn append_status(store: &Store, id: SessionId, status: SessionStatus) {
    let event = EventData::SessionStatus(StatusChanged {
        status,
        reason: None,
    });
    append(store, id, event).await;
}

async fn set_row_status(store: &Store, id: SessionId, status: SessionStatus) {
    let mut record = store.get_session(id).await.unwrap().unwrap();
    record.status = status;
    let row = agentd_store::BatchWrites {
        sessions: vec![record],
        ..Default::default()
    };
    store.append_events_with(&[], &row).await.unwrap();
}

fn input(id: SessionId, text: &str, consumed: bool) -> InputRecord {
    let now = agentd_store::truncate_to_ms(time::OffsetDateTime::now_utc());
    InputRecord {
        id: format!("in_{}", uuid_like()),
        session_id: id,
        kind: InputKind::Message,
        text: text.to_owned(),
        created_at: now,
        consumed_at: consumed.then_some(now),
    }
}

fn uuid_like() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

fn turn_events(events: &[EventEnvelope]) -> Vec<(String, u32)> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            EventData::TurnStarted(s) => Some((format!("started {}", s.input), s.turn)),
            EventData::TurnCompleted(c) => Some((format!("completed {:?}", c.stop_reason), c.turn)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_completed_turn_whose_row_still_says_running_is_not_marked_again() {
    let fake = FakeAnthropic::start().await;
    let (engine, _ws, id) = one_finished_turn(&fake).await;
    // The row update after `turn.completed` was lost.
    set_row_status(&engine.store, id, SessionStatus::Running).await;
    let before = engine.store.read_events(id, 0, 1000).await.unwrap();

    let manager = restart(&engine, &fake).await;
    let after = manager.read_events(id, 0, 1000).await.unwrap();
    assert_eq!(
        after.len(),
        before.len(),
        "no event added: {:?}",
        turn_events(&after)
    );
    let session = manager.get_session(id).await.unwrap();
    assert_eq!(
        session.status,
        SessionStatus::Idle,
        "the row follows the log"
    );
}

#[tokio::test]
async fn a_log_that_ends_at_running_is_an_interrupted_turn_whatever_the_row_says() {
    let fake = FakeAnthropic::start().await;
    let (engine, _ws, id) = one_finished_turn(&fake).await;
    // `running` was logged for turn 2, then the process died before the row
    // or `turn.started` were written.
    append_status(&engine.store, id, SessionStatus::Running).await;

    let manager = restart(&engine, &fake).await;
    let session = manager.get_session(id).await.unwrap();
    assert_eq!(session.status, SessionStatus::Interrupted);
    let turns = turn_events(&manager.read_events(id, 0, 1000).await.unwrap());
    assert_eq!(
        turns.last().unwrap(),
        &(format!("completed {:?}", TurnStopReason::Interrupted), 2)
    );
    assert_eq!(session.turns, 2);
}

#[tokio::test]
async fn an_input_left_on_an_idle_session_runs_after_a_restart() {
    let fake = FakeAnthropic::start().await;
    let (engine, _ws, id) = one_finished_turn(&fake).await;
    // Acknowledged as the turn ended, which then wrote `idle`.
    engine
        .store
        .enqueue_input(&input(id, "left behind", false))
        .await
        .unwrap();

    let manager = restart(&engine, &fake).await;
    common::wait_for(&manager, id, SessionStatus::Idle).await;
    let turns = turn_events(&manager.read_events(id, 0, 1000).await.unwrap());
    assert!(
        turns.contains(&("started left behind".to_owned(), 2)),
        "{turns:?}"
    );
    assert!(engine.store.pending_inputs(id).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_input_taken_whose_turn_never_started_runs_again() {
    let fake = FakeAnthropic::start().await;
    let (engine, _ws, id) = one_finished_turn(&fake).await;
    // Queued, then the input was marked consumed and the process died
    // before the turn started.
    append_status(&engine.store, id, SessionStatus::Queued).await;
    set_row_status(&engine.store, id, SessionStatus::Queued).await;
    engine
        .store
        .enqueue_input(&input(id, "taken too soon", true))
        .await
        .unwrap();

    let manager = restart(&engine, &fake).await;
    common::wait_for(&manager, id, SessionStatus::Idle).await;
    let turns = turn_events(&manager.read_events(id, 0, 1000).await.unwrap());
    assert_eq!(
        turns[2..],
        [
            ("started taken too soon".to_owned(), 2),
            (format!("completed {:?}", TurnStopReason::EndTurn), 2)
        ],
        "{turns:?}"
    );
}
