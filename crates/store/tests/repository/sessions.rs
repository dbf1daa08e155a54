use agentd_protocol::{PermissionMode, Runtime, SessionId, SessionStatus, WorkspaceSpec};
use agentd_store::{InputRecord, Store, StoreError};
use pretty_assertions::assert_eq;
use serde_json::json;

use crate::fixtures::{events, full_session, minimal_session, now, with_status};

crate::for_both_backends!(
    every_field_round_trips,
    duplicate_ids_conflict,
    update_writes_mutable_fields_only,
    updating_a_missing_session_is_not_found,
    listing_is_newest_first_with_filter_and_pages,
    sessions_with_status_filters_oldest_first,
    delete_removes_events_transcript_and_inputs,
);

async fn every_field_round_trips(store: &Store) {
    for s in [full_session(), minimal_session()] {
        store.insert_session(&s).await.unwrap();
        assert_eq!(store.get_session(s.id).await.unwrap(), Some(s.clone()));
    }
    // JSON null is a value, distinct from "no runtime state".
    let s = agentd_store::SessionRecord {
        runtime_state: Some(json!(null)),
        ..minimal_session()
    };
    store.insert_session(&s).await.unwrap();
    assert_eq!(
        store
            .get_session(s.id)
            .await
            .unwrap()
            .unwrap()
            .runtime_state,
        Some(json!(null))
    );

    assert_eq!(store.get_session(SessionId::new()).await.unwrap(), None);
}

async fn duplicate_ids_conflict(store: &Store) {
    let s = minimal_session();
    store.insert_session(&s).await.unwrap();
    let again = agentd_store::SessionRecord {
        title: "other".into(),
        ..s.clone()
    };
    let err = store.insert_session(&again).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.get_session(s.id).await.unwrap(), Some(s));
}

async fn update_writes_mutable_fields_only(store: &Store) {
    let original = minimal_session();
    store.insert_session(&original).await.unwrap();
    store
        .append_events(&events(original.id, 1..=2))
        .await
        .unwrap();

    let mut changed = full_session();
    changed.id = original.id;
    changed.last_seq = 99; // owned by the event log: ignored
    store.update_session(&changed).await.unwrap();

    let expected = agentd_store::SessionRecord {
        // Written:
        title: changed.title.clone(),
        model: changed.model.clone(),
        permission_mode: changed.permission_mode,
        turns: changed.turns,
        usage: changed.usage,
        runtime_state: changed.runtime_state.clone(),
        updated_at: changed.updated_at,
        // Kept: fixed at creation, or maintained by append_events (the
        // status changes only with its event).
        last_seq: 2,
        ..original
    };
    assert_eq!(
        store.get_session(original.id).await.unwrap(),
        Some(expected)
    );
}

async fn updating_a_missing_session_is_not_found(store: &Store) {
    let err = store.update_session(&minimal_session()).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

async fn listing_is_newest_first_with_filter_and_pages(store: &Store) {
    use SessionStatus::{Idle, Running};
    let mut all = Vec::new();
    for status in [Idle, Running, Idle, Running, Idle] {
        let s = with_status(status);
        store.insert_session(&s).await.unwrap();
        all.push(s);
    }
    let ids = |v: &[agentd_store::SessionRecord]| v.iter().map(|s| s.id).collect::<Vec<_>>();
    let newest_first: Vec<SessionId> = all.iter().rev().map(|s| s.id).collect();

    let listed = store.list_sessions(None, None, 100).await.unwrap();
    assert_eq!(ids(&listed), newest_first);
    assert_eq!(listed[0], all[4]); // whole records, not just ids

    // Keyset pages of two.
    let page1 = store.list_sessions(None, None, 2).await.unwrap();
    let page2 = store
        .list_sessions(None, Some(page1[1].id), 2)
        .await
        .unwrap();
    let page3 = store
        .list_sessions(None, Some(page2[1].id), 2)
        .await
        .unwrap();
    assert_eq!(
        [ids(&page1), ids(&page2), ids(&page3)].concat(),
        newest_first
    );
    assert_eq!(page3.len(), 1);

    let idle = store.list_sessions(Some(Idle), None, 100).await.unwrap();
    assert_eq!(ids(&idle), vec![all[4].id, all[2].id, all[0].id]);
    let older_idle = store
        .list_sessions(Some(Idle), Some(all[4].id), 1)
        .await
        .unwrap();
    assert_eq!(ids(&older_idle), vec![all[2].id]);
    assert!(
        store
            .list_sessions(Some(SessionStatus::Failed), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.list_sessions(None, None, 0).await.unwrap().is_empty());
}

async fn sessions_with_status_filters_oldest_first(store: &Store) {
    use SessionStatus::{BlockedOnApproval, Completed, Queued, Running};
    let mut all = Vec::new();
    for status in [Running, Completed, Queued, BlockedOnApproval, Running] {
        let s = with_status(status);
        store.insert_session(&s).await.unwrap();
        all.push(s);
    }
    let active = store
        .sessions_with_status(&[Queued, Running, BlockedOnApproval])
        .await
        .unwrap();
    assert_eq!(
        active,
        vec![
            all[0].clone(),
            all[2].clone(),
            all[3].clone(),
            all[4].clone()
        ]
    );
    assert_eq!(
        store.sessions_with_status(&[Completed]).await.unwrap(),
        vec![all[1].clone()]
    );
    assert!(store.sessions_with_status(&[]).await.unwrap().is_empty());
}

async fn delete_removes_events_transcript_and_inputs(store: &Store) {
    let doomed = minimal_session();
    let kept = minimal_session();
    for s in [&doomed, &kept] {
        store.insert_session(s).await.unwrap();
        store.append_events(&events(s.id, 1..=3)).await.unwrap();
        store
            .append_transcript(s.id, 1, &[("user".into(), json!([]))])
            .await
            .unwrap();
        store
            .enqueue_input(&input(s.id, &format!("in_{}", s.id)))
            .await
            .unwrap();
    }

    assert!(store.delete_session(doomed.id).await.unwrap());
    assert!(!store.delete_session(doomed.id).await.unwrap());
    assert_eq!(store.get_session(doomed.id).await.unwrap(), None);

    // The id can be reused and nothing of the old session shows through.
    store.insert_session(&doomed).await.unwrap();
    assert!(
        store
            .read_events(doomed.id, 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.load_transcript(doomed.id).await.unwrap().is_empty());
    assert!(store.pending_inputs(doomed.id).await.unwrap().is_empty());
    assert_eq!(store.last_seq(doomed.id).await.unwrap(), 0);
    // The input id is free again too.
    store
        .enqueue_input(&input(doomed.id, &format!("in_{}", doomed.id)))
        .await
        .unwrap();

    // The other session is untouched.
    assert_eq!(store.read_events(kept.id, 0, 100).await.unwrap().len(), 3);
    assert_eq!(store.load_transcript(kept.id).await.unwrap().len(), 1);
    assert_eq!(store.pending_inputs(kept.id).await.unwrap().len(), 1);
}

fn input(session_id: SessionId, id: &str) -> InputRecord {
    InputRecord {
        id: id.into(),
        session_id,
        kind: agentd_protocol::event::InputKind::Message,
        text: "next".into(),
        created_at: now(),
        consumed_at: None,
    }
}

#[test]
fn the_view_carries_the_record() {
    let s = full_session();
    let v = s.view();
    assert_eq!(
        (v.id, v.status, v.runtime),
        (s.id, s.status, Runtime::ClaudeCode)
    );
    assert_eq!(
        (v.permission_mode, v.turns, v.usage),
        (PermissionMode::AcceptEdits, 3, s.usage)
    );
    assert_eq!(
        (v.last_seq, v.created_at, v.updated_at),
        (s.last_seq, s.created_at, s.updated_at)
    );
    assert!(matches!(v.workspace, WorkspaceSpec::Git { .. }));
    assert_eq!(v.status_reason, s.status_reason);
}
