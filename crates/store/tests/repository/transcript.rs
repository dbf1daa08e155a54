use agentd_store::{Store, StoreError, TranscriptEntry};
use pretty_assertions::assert_eq;
use serde_json::json;

use crate::fixtures::minimal_session;

crate::for_both_backends!(
    transcript_keeps_order_across_appends,
    transcript_needs_a_session
);

async fn transcript_keeps_order_across_appends(store: &Store) {
    let s = minimal_session();
    let other = minimal_session();
    store.insert_session(&s).await.unwrap();
    store.insert_session(&other).await.unwrap();

    let user = json!([{"type": "text", "text": "list files"}]);
    let call =
        json!([{"type": "tool_use", "id": "call_1", "name": "bash", "input": {"command": "ls"}}]);
    let result = json!([{"type": "tool_result", "tool_use_id": "call_1", "content": "a\nb"}]);
    let done = json!([{"type": "text", "text": "two files ✓"}]);
    store
        .append_transcript(
            s.id,
            1,
            &[
                ("user".into(), user.clone()),
                ("assistant".into(), call.clone()),
            ],
        )
        .await
        .unwrap();
    store
        .append_transcript(other.id, 1, &[("user".into(), json!([]))])
        .await
        .unwrap();
    store
        .append_transcript(s.id, 1, &[("user".into(), result.clone())])
        .await
        .unwrap();
    store.append_transcript(s.id, 2, &[]).await.unwrap();
    store
        .append_transcript(s.id, 2, &[("assistant".into(), done.clone())])
        .await
        .unwrap();

    let entry = |seq, turn, role: &str, content: &serde_json::Value| TranscriptEntry {
        seq,
        turn,
        role: role.into(),
        content: content.clone(),
    };
    assert_eq!(
        store.load_transcript(s.id).await.unwrap(),
        vec![
            entry(0, 1, "user", &user),
            entry(1, 1, "assistant", &call),
            entry(2, 1, "user", &result),
            entry(3, 2, "assistant", &done),
        ]
    );
    assert_eq!(
        store.load_transcript(other.id).await.unwrap(),
        vec![entry(0, 1, "user", &json!([]))]
    );
}

async fn transcript_needs_a_session(store: &Store) {
    let missing = minimal_session().id;
    let err = store
        .append_transcript(missing, 1, &[("user".into(), json!([]))])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert!(store.load_transcript(missing).await.unwrap().is_empty());
}
