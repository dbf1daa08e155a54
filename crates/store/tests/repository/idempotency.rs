use agentd_protocol::UserRole;
use agentd_store::{IdempotencyClaim, Store, StoredResponse, UserRecord};
use pretty_assertions::assert_eq;
use time::Duration;

use crate::fixtures::now;

crate::for_both_backends!(idempotency_keys_are_claimed_once_per_user_and_expire);

fn user(id: &str) -> UserRecord {
    UserRecord {
        id: id.into(),
        name: id.into(),
        role: UserRole::Member,
        password_hash: None,
        disabled_at: None,
        failed_logins: 0,
        last_failed_at: None,
        locked_until: None,
        created_at: now(),
    }
}

async fn idempotency_keys_are_claimed_once_per_user_and_expire(store: &Store) {
    store.insert_user(&user("usr_a")).await.unwrap();
    store.insert_user(&user("usr_b")).await.unwrap();
    let t0 = now();
    let day_ago = |t: time::OffsetDateTime| t - Duration::hours(24);
    let claim = |user: &'static str, key: &'static str, at: time::OffsetDateTime| async move {
        store
            .claim_idempotency_key(user, key, "hash1", at, day_ago(at))
            .await
            .unwrap()
    };

    assert_eq!(claim("usr_a", "k1", t0).await, IdempotencyClaim::Claimed);
    // A second request while the first runs sees it running.
    assert_eq!(
        claim("usr_a", "k1", t0).await,
        IdempotencyClaim::InProgress {
            request_hash: "hash1".into()
        }
    );
    // Keys are per user.
    assert_eq!(claim("usr_b", "k1", t0).await, IdempotencyClaim::Claimed);

    store
        .complete_idempotency_key("usr_a", "k1", 201, Some("application/json"), "{\"id\":1}")
        .await
        .unwrap();
    let done = IdempotencyClaim::Done(StoredResponse {
        request_hash: "hash1".into(),
        status: 201,
        content_type: Some("application/json".into()),
        body: "{\"id\":1}".into(),
    });
    assert_eq!(claim("usr_a", "k1", t0 + Duration::hours(23)).await, done);
    // Released keys (the request failed) can be used again; completed ones
    // cannot be released.
    store.release_idempotency_key("usr_b", "k1").await.unwrap();
    assert_eq!(claim("usr_b", "k1", t0).await, IdempotencyClaim::Claimed);
    store.release_idempotency_key("usr_a", "k1").await.unwrap();
    assert_eq!(claim("usr_a", "k1", t0).await, done);
    // After 24 hours the key is forgotten.
    assert_eq!(
        claim("usr_a", "k1", t0 + Duration::hours(25)).await,
        IdempotencyClaim::Claimed
    );
}
