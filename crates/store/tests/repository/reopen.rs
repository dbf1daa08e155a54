//! SQLite-only: a reopened database file keeps everything.

use agentd_protocol::event::InputKind;
use agentd_store::{InputRecord, Store};
use pretty_assertions::assert_eq;
use serde_json::json;

use crate::fixtures::{as_stored, events, full_session, now};

#[tokio::test]
async fn a_reopened_sqlite_file_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/agentd.db");
    let store = Store::open_sqlite(&path).await.unwrap();

    let mut s = full_session();
    store.insert_session(&s).await.unwrap();
    let log = events(s.id, 1..=4);
    store.append_events(&log).await.unwrap();
    store
        .append_transcript(
            s.id,
            1,
            &[("user".into(), json!([{"type": "text", "text": "hi"}]))],
        )
        .await
        .unwrap();
    let pending = InputRecord {
        id: "in_1".into(),
        session_id: s.id,
        kind: InputKind::Steer,
        text: "also check docs".into(),
        created_at: now(),
        consumed_at: None,
    };
    store.enqueue_input(&pending).await.unwrap();
    let transcript = store.load_transcript(s.id).await.unwrap();
    store.close().await;

    // Reopening also re-runs the (already applied) migrations.
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    s.last_seq = 4;
    assert_eq!(store.get_session(s.id).await.unwrap(), Some(s.clone()));
    assert_eq!(
        store.read_events(s.id, 0, 100).await.unwrap(),
        as_stored(&log)
    );
    assert_eq!(store.load_transcript(s.id).await.unwrap(), transcript);
    assert_eq!(store.pending_inputs(s.id).await.unwrap(), vec![pending]);
    assert_eq!(store.list_sessions(None, None, 10).await.unwrap(), vec![s]);
}
