use agentd_protocol::{Scope, UserRole};
use agentd_store::{
    AuditFilter, LoginFailures, NewAuditEntry, Store, StoreError, TokenKind, TokenRecord,
    UserRecord,
};
use pretty_assertions::assert_eq;
use serde_json::json;

use crate::fixtures::{minimal_session, now};

crate::for_both_backends!(
    users_round_trip_and_names_are_unique,
    tokens_are_found_by_hash_revoked_and_consumed_once,
    audit_is_filtered_and_paged_newest_first,
    sessions_list_by_owner,
    credentials_identities_and_oauth_states,
    logout_everywhere_keeps_personal_tokens,
);

fn user(id: &str, name: &str) -> UserRecord {
    UserRecord {
        id: id.into(),
        name: name.into(),
        role: UserRole::Member,
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        disabled_at: None,
        failed_logins: 0,
        last_failed_at: None,
        locked_until: None,
        created_at: now(),
    }
}

fn token(id: &str, user_id: &str, kind: TokenKind, hash: &str) -> TokenRecord {
    TokenRecord {
        id: id.into(),
        user_id: user_id.into(),
        name: "t".into(),
        kind,
        token_hash: hash.into(),
        scope: Scope::Write,
        family: Some("fam".into()),
        created_at: now(),
        expires_at: None,
        revoked_at: None,
        last_used_at: None,
    }
}

async fn users_round_trip_and_names_are_unique(store: &Store) {
    assert_eq!(store.count_users().await.unwrap(), 0);
    let ann = user("usr_a", "ann");
    store.insert_user(&ann).await.unwrap();
    assert_eq!(store.get_user("usr_a").await.unwrap(), Some(ann.clone()));
    assert_eq!(
        store.get_user_by_name("ann").await.unwrap(),
        Some(ann.clone())
    );
    assert!(matches!(
        store.insert_user(&user("usr_b", "ann")).await,
        Err(StoreError::Conflict(_))
    ));
    let at = now();
    let failures = LoginFailures {
        count: 3,
        last_failed_at: Some(at),
        locked_until: Some(at),
    };
    assert!(store.set_login_failures("usr_a", failures).await.unwrap());
    assert!(store.set_user_disabled("usr_a", Some(at)).await.unwrap());
    assert!(!store.set_user_disabled("usr_none", Some(at)).await.unwrap());
    let got = store.get_user("usr_a").await.unwrap().unwrap();
    assert_eq!(
        (got.failed_logins, got.locked_until, got.disabled_at),
        (3, Some(at), Some(at))
    );
    assert_eq!(store.list_users().await.unwrap().len(), 1);
}

async fn tokens_are_found_by_hash_revoked_and_consumed_once(store: &Store) {
    store.insert_user(&user("usr_a", "ann")).await.unwrap();
    let pat = token("tok_1", "usr_a", TokenKind::Pat, "h1");
    store.insert_token(&pat).await.unwrap();
    assert!(matches!(
        store
            .insert_token(&token("tok_2", "usr_none", TokenKind::Pat, "h2"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.token_by_hash("h1").await.unwrap(), Some(pat.clone()));
    assert_eq!(
        store.list_tokens("usr_a", TokenKind::Pat).await.unwrap(),
        vec![pat]
    );
    let at = now();
    store.touch_token("tok_1", at).await.unwrap();
    assert!(store.revoke_token("tok_1", at).await.unwrap());
    assert!(
        !store.revoke_token("tok_1", at).await.unwrap(),
        "already revoked"
    );
    let got = store.get_token("tok_1").await.unwrap().unwrap();
    assert_eq!((got.revoked_at, got.last_used_at), (Some(at), Some(at)));
    assert!(!got.is_live(at));

    let ticket = token("tok_t", "usr_a", TokenKind::Ticket, "ht");
    store.insert_token(&ticket).await.unwrap();
    assert!(
        store
            .consume_token("ht", TokenKind::Pat, at)
            .await
            .unwrap()
            .is_none(),
        "kind must match"
    );
    assert_eq!(
        store
            .consume_token("ht", TokenKind::Ticket, at)
            .await
            .unwrap()
            .map(|t| t.id),
        Some("tok_t".into())
    );
    assert!(
        store
            .consume_token("ht", TokenKind::Ticket, at)
            .await
            .unwrap()
            .is_none(),
        "single use"
    );

    let expired = TokenRecord {
        expires_at: Some(at),
        ..token("tok_e", "usr_a", TokenKind::Ticket, "he")
    };
    store.insert_token(&expired).await.unwrap();
    assert!(
        store
            .consume_token("he", TokenKind::Ticket, at)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );

    store
        .insert_token(&token("tok_r", "usr_a", TokenKind::Refresh, "hr"))
        .await
        .unwrap();
    assert_eq!(
        store.revoke_family("fam", at).await.unwrap(),
        2,
        "the refresh and the expired ticket"
    );
}

async fn audit_is_filtered_and_paged_newest_first(store: &Store) {
    for (i, (actor, action)) in [
        ("ann", "login.success"),
        ("bob", "login.failure"),
        ("ann", "token.create"),
    ]
    .into_iter()
    .enumerate()
    {
        let entry = NewAuditEntry {
            actor_id: Some(format!("usr_{actor}")),
            actor_name: actor.into(),
            action: action.into(),
            target: None,
            detail: json!({"i": i}),
            ip: Some("127.0.0.1".into()),
        };
        store.append_audit(&entry, now()).await.unwrap();
    }
    let all = store
        .list_audit(&AuditFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = all.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["token.create", "login.failure", "login.success"]);
    assert_eq!(all[0].detail, json!({"i": 2}));
    let ann = AuditFilter {
        actor_id: Some("usr_ann".into()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.list_audit(&ann).await.unwrap().len(), 2);
    let page = AuditFilter {
        before: Some(all[0].id),
        limit: 1,
        ..Default::default()
    };
    assert_eq!(
        store.list_audit(&page).await.unwrap()[0].action,
        "login.failure"
    );
    let action = AuditFilter {
        action: Some("login.failure".into()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        store.list_audit(&action).await.unwrap()[0].actor_name,
        "bob"
    );
}

async fn sessions_list_by_owner(store: &Store) {
    let mut mine = minimal_session();
    mine.owner_id = Some("usr_a".into());
    let theirs = minimal_session();
    store.insert_session(&mine).await.unwrap();
    store.insert_session(&theirs).await.unwrap();
    let listed = store
        .list_sessions_of(Some("usr_a"), None, None, 10)
        .await
        .unwrap();
    assert_eq!(listed, vec![mine]);
    assert_eq!(
        store
            .list_sessions_of(None, None, None, 10)
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn credentials_identities_and_oauth_states(store: &Store) {
    use agentd_protocol::CredentialProvider;
    use agentd_store::{CredentialVault, IdentityRecord, MasterKey, OAuthState, Secret};

    store.insert_user(&user("usr_a", "ann")).await.unwrap();
    let vault = CredentialVault::new(store.clone(), MasterKey::generate());
    let p = CredentialProvider::Openai;
    vault
        .put("usr_a", p, &Secret::new("sk-first-1111"), now())
        .await
        .unwrap();
    // A second put replaces the first.
    vault
        .put("usr_a", p, &Secret::new("sk-second-2222"), now())
        .await
        .unwrap();
    let listed = vault.list("usr_a").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].hint, "…2222");
    assert_eq!(
        vault.resolve("usr_a", p).await.unwrap().unwrap().expose(),
        "sk-second-2222"
    );
    assert!(matches!(
        vault
            .put("usr_zz", p, &Secret::new("sk-x-0000"), now())
            .await,
        Err(StoreError::NotFound(_))
    ));

    let link = IdentityRecord {
        provider: "github".into(),
        subject: "4242".into(),
        user_id: "usr_a".into(),
        login: "octo".into(),
        created_at: now(),
    };
    store.insert_identity(&link).await.unwrap();
    assert_eq!(
        store.identity("github", "4242").await.unwrap(),
        Some(link.clone())
    );
    assert!(matches!(
        store.insert_identity(&link).await,
        Err(StoreError::Conflict(_))
    ));

    let state = OAuthState {
        state_hash: "h1".into(),
        link_user_id: Some("usr_a".into()),
        created_at: now(),
        expires_at: now() + time::Duration::minutes(10),
    };
    store.insert_oauth_state(&state).await.unwrap();
    let expired = OAuthState {
        state_hash: "h2".into(),
        link_user_id: None,
        created_at: now(),
        expires_at: now(),
    };
    store.insert_oauth_state(&expired).await.unwrap();
    assert_eq!(
        store.consume_oauth_state("h1", now()).await.unwrap(),
        Some(state)
    );
    assert_eq!(store.consume_oauth_state("h1", now()).await.unwrap(), None);
    assert_eq!(store.consume_oauth_state("h2", now()).await.unwrap(), None);
}

async fn logout_everywhere_keeps_personal_tokens(store: &Store) {
    store.insert_user(&user("usr_a", "ann")).await.unwrap();
    let kinds = [
        ("t1", TokenKind::Pat),
        ("t2", TokenKind::Access),
        ("t3", TokenKind::Refresh),
        ("t4", TokenKind::Web),
    ];
    for (id, kind) in kinds {
        store
            .insert_token(&token(id, "usr_a", kind, &format!("hash-{id}")))
            .await
            .unwrap();
    }
    let n = store
        .revoke_user_tokens(
            "usr_a",
            &[TokenKind::Access, TokenKind::Refresh, TokenKind::Web],
            now(),
        )
        .await
        .unwrap();
    assert_eq!(n, 3);
    for (id, kind) in kinds {
        let t = store.get_token(id).await.unwrap().unwrap();
        assert_eq!(t.kind, kind);
        assert_eq!(t.revoked_at.is_some(), kind != TokenKind::Pat, "{id}");
    }
}
