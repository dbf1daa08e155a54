use agentd_store::{Store, TaskReply};
use pretty_assertions::assert_eq;

use crate::fixtures::{minimal_session, now};

crate::for_both_backends!(
    deliveries_are_claimed_once,
    pull_requests_find_their_task,
    task_replies_wait_until_reported
);

async fn deliveries_are_claimed_once(store: &Store) {
    assert!(
        store
            .claim_webhook_delivery("d-1", "issues", now())
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_webhook_delivery("d-1", "issues", now())
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_webhook_delivery("d-2", "ping", now())
            .await
            .unwrap()
    );
    // A released claim (handling failed on our side) can be claimed again.
    store.release_webhook_delivery("d-1").await.unwrap();
    assert!(
        store
            .claim_webhook_delivery("d-1", "issues", now())
            .await
            .unwrap()
    );
}

async fn pull_requests_find_their_task(store: &Store) {
    let s = minimal_session();
    store.insert_session(&s).await.unwrap();
    store
        .link_task_pull_request("Octo/Demo", 7, s.id)
        .await
        .unwrap();
    // GitHub names are case-insensitive.
    assert_eq!(
        store.task_for_pull_request("octo/demo", 7).await.unwrap(),
        Some(s.id)
    );
    assert_eq!(
        store.task_for_pull_request("octo/demo", 8).await.unwrap(),
        None
    );
    assert_eq!(
        store.task_for_pull_request("octo/other", 7).await.unwrap(),
        None
    );
    // Deleting the session forgets the link.
    store.delete_session(s.id).await.unwrap();
    assert_eq!(
        store.task_for_pull_request("octo/demo", 7).await.unwrap(),
        None
    );
}

async fn task_replies_wait_until_reported(store: &Store) {
    let s = minimal_session();
    store.insert_session(&s).await.unwrap();
    let reply = TaskReply {
        session_id: s.id,
        repo: "Octo/Demo".into(),
        issue_number: 3,
        comment_id: None,
        task_url: "https://agentd.example/api/v1/tasks/x".into(),
        reported_at: None,
        created_at: now(),
    };
    store.insert_task_reply(&reply).await.unwrap();
    assert_eq!(
        store.pending_task_replies().await.unwrap(),
        vec![reply.clone()]
    );
    store.set_task_reply_comment(s.id, 1001).await.unwrap();
    let with_comment = TaskReply {
        comment_id: Some(1001),
        ..reply.clone()
    };
    assert_eq!(
        store.task_reply(s.id).await.unwrap(),
        Some(with_comment.clone())
    );
    let at = now();
    store.mark_task_reply_reported(s.id, at).await.unwrap();
    assert_eq!(store.pending_task_replies().await.unwrap(), vec![]);
    assert_eq!(
        store.task_reply(s.id).await.unwrap(),
        Some(TaskReply {
            reported_at: Some(at),
            ..with_comment
        })
    );
}
