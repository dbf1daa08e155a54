use agentd_protocol::SessionId;
use agentd_store::{Store, StoreError};
use pretty_assertions::assert_eq;

use crate::fixtures::{as_stored, event, events, minimal_session};

crate::for_both_backends!(
    events_read_back_after_a_seq_with_a_limit,
    a_duplicate_seq_conflicts_and_writes_nothing,
    an_unknown_session_writes_nothing,
    last_seq_follows_appends,
    one_batch_spans_sessions,
    large_batches_are_split_but_atomic,
    concurrent_writers_do_not_trip_over_each_other,
);

async fn new_session(store: &Store) -> SessionId {
    let s = minimal_session();
    store.insert_session(&s).await.unwrap();
    s.id
}

async fn events_read_back_after_a_seq_with_a_limit(store: &Store) {
    let id = new_session(store).await;
    let all = events(id, 1..=5);
    store.append_events(&all[..2]).await.unwrap();
    store.append_events(&all[2..]).await.unwrap();

    assert_eq!(
        store.read_events(id, 0, 100).await.unwrap(),
        as_stored(&all)
    );
    assert_eq!(
        store.read_events(id, 2, 2).await.unwrap(),
        as_stored(&all[2..4])
    );
    assert!(store.read_events(id, 5, 100).await.unwrap().is_empty());
    assert!(store.read_events(id, 0, 0).await.unwrap().is_empty());
    assert!(
        store
            .read_events(SessionId::new(), 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
    store.append_events(&[]).await.unwrap();
}

async fn a_duplicate_seq_conflicts_and_writes_nothing(store: &Store) {
    let id = new_session(store).await;
    let other = new_session(store).await;
    store.append_events(&events(id, 1..=2)).await.unwrap();

    // Against a stored event, with other sessions' events in the batch too.
    let batch = [event(other, 1), event(id, 3), event(id, 4), event(id, 2)];
    let err = store.append_events(&batch).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // Within the batch itself.
    let err = store
        .append_events(&[event(id, 3), event(id, 3)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    assert_eq!(store.read_events(id, 0, 100).await.unwrap().len(), 2);
    assert!(store.read_events(other, 0, 100).await.unwrap().is_empty());
    assert_eq!(store.last_seq(id).await.unwrap(), 2);
    assert_eq!(store.last_seq(other).await.unwrap(), 0);
}

async fn an_unknown_session_writes_nothing(store: &Store) {
    let id = new_session(store).await;
    let err = store
        .append_events(&[event(id, 1), event(SessionId::new(), 1)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert!(store.read_events(id, 0, 100).await.unwrap().is_empty());
    assert_eq!(store.last_seq(id).await.unwrap(), 0);
}

async fn last_seq_follows_appends(store: &Store) {
    let id = new_session(store).await;
    assert_eq!(store.last_seq(id).await.unwrap(), 0);
    store.append_events(&events(id, 1..=3)).await.unwrap();
    assert_eq!(store.last_seq(id).await.unwrap(), 3);
    store.append_events(&events(id, 4..=4)).await.unwrap();
    assert_eq!(store.last_seq(id).await.unwrap(), 4);
    assert_eq!(store.get_session(id).await.unwrap().unwrap().last_seq, 4);
    let err = store.last_seq(SessionId::new()).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

async fn one_batch_spans_sessions(store: &Store) {
    let a = new_session(store).await;
    let b = new_session(store).await;
    let batch = [
        event(a, 1),
        event(b, 1),
        event(a, 2),
        event(b, 2),
        event(b, 3),
    ];
    store.append_events(&batch).await.unwrap();

    assert_eq!(
        store.read_events(a, 0, 100).await.unwrap(),
        as_stored(&[batch[0].clone(), batch[2].clone()])
    );
    assert_eq!(
        store.read_events(b, 1, 100).await.unwrap(),
        as_stored(&[batch[3].clone(), batch[4].clone()])
    );
    assert_eq!(
        (
            store.last_seq(a).await.unwrap(),
            store.last_seq(b).await.unwrap()
        ),
        (2, 3)
    );
}

async fn large_batches_are_split_but_atomic(store: &Store) {
    let id = new_session(store).await;
    let mut batch = events(id, 1..=400);
    store.append_events(&batch).await.unwrap();
    assert_eq!(
        store.read_events(id, 0, 1000).await.unwrap(),
        as_stored(&batch)
    );

    // A conflict in the last statement rolls back the earlier ones.
    batch = events(id, 401..=799);
    batch.push(event(id, 400));
    assert!(matches!(
        store.append_events(&batch).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.last_seq(id).await.unwrap(), 400);
    assert!(store.read_events(id, 400, 10).await.unwrap().is_empty());
}

/// Several sessions writing at once (as the engine does) must all succeed:
/// SQLite serializes them behind its busy timeout.
async fn concurrent_writers_do_not_trip_over_each_other(store: &Store) {
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let id = new_session(&store).await;
            for seq in 1..=15 {
                store.append_events(&[event(id, seq)]).await.unwrap();
                let entry = [(
                    "assistant".to_owned(),
                    serde_json::json!([{"type": "text"}]),
                )];
                store.append_transcript(id, 1, &entry).await.unwrap();
                store.read_events(id, seq - 1, 10).await.unwrap();
            }
            id
        }));
    }
    for task in tasks {
        let id = task.await.unwrap();
        assert_eq!(store.last_seq(id).await.unwrap(), 15);
        assert_eq!(store.load_transcript(id).await.unwrap().len(), 15);
    }
}
