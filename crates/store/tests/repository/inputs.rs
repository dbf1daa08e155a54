use agentd_protocol::SessionId;
use agentd_protocol::event::InputKind;
use agentd_store::{InputRecord, Store, StoreError};
use pretty_assertions::assert_eq;

use crate::fixtures::{minimal_session, now};

crate::for_both_backends!(inputs_queue_in_order_until_consumed, input_errors);

fn input(session_id: SessionId, id: &str, kind: InputKind) -> InputRecord {
    InputRecord {
        id: id.into(),
        session_id,
        kind,
        text: format!("text of {id}"),
        // The same millisecond for all: order must come from enqueue order.
        created_at: now(),
        consumed_at: None,
    }
}

async fn inputs_queue_in_order_until_consumed(store: &Store) {
    let s = minimal_session();
    store.insert_session(&s).await.unwrap();
    // Ids deliberately out of lexical order.
    let queued = [
        input(s.id, "in_c", InputKind::Message),
        input(s.id, "in_a", InputKind::Steer),
        input(s.id, "in_b", InputKind::Message),
    ];
    for i in &queued {
        store.enqueue_input(i).await.unwrap();
    }
    assert_eq!(store.pending_inputs(s.id).await.unwrap(), queued.to_vec());

    let at = now();
    store.consume_input("in_a", at).await.unwrap();
    assert_eq!(
        store.pending_inputs(s.id).await.unwrap(),
        vec![queued[0].clone(), queued[2].clone()]
    );
    // Consuming again is harmless and keeps the first time.
    store
        .consume_input("in_a", at + time::Duration::seconds(5))
        .await
        .unwrap();
    store.consume_input("in_c", at).await.unwrap();
    store.consume_input("in_b", at).await.unwrap();
    assert!(store.pending_inputs(s.id).await.unwrap().is_empty());

    // An input enqueued already consumed (e.g. a steer applied at once) is
    // never pending.
    let done = InputRecord {
        consumed_at: Some(at),
        ..input(s.id, "in_d", InputKind::Steer)
    };
    store.enqueue_input(&done).await.unwrap();
    assert!(store.pending_inputs(s.id).await.unwrap().is_empty());
}

async fn input_errors(store: &Store) {
    let s = minimal_session();
    store.insert_session(&s).await.unwrap();
    let first = input(s.id, "in_1", InputKind::Message);
    store.enqueue_input(&first).await.unwrap();

    let err = store.enqueue_input(&first).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = store
        .enqueue_input(&input(SessionId::new(), "in_2", InputKind::Message))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    let err = store.consume_input("in_nope", now()).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert_eq!(store.pending_inputs(s.id).await.unwrap(), vec![first]);
}
