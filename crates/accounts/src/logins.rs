//! Logins as tokens: an access + refresh pair per login (a "family"),
//! refresh rotation where each refresh token works once and a replayed one
//! ends the whole login, logging out one login or all of them. The API's
//! routes (JSON and browser) call these; the HTTP framing is theirs.

use std::net::IpAddr;
use std::time::Duration;

use agentd_store::{Store, TokenKind, TokenRecord, UserRecord};
use serde_json::json;

use crate::accounts::{AccountError, NewToken, issue_token, now};
use crate::audit::{self, Actor};
use crate::secret;

/// How long a login's tokens live.
#[derive(Clone, Copy, Debug)]
pub struct LoginLifetimes {
    pub access: Duration,
    pub refresh: Duration,
}

/// A login's tokens as issued (the secrets are shown once).
pub struct LoginPair {
    pub access: String,
    pub access_record: TokenRecord,
    pub refresh: String,
    pub refresh_record: TokenRecord,
}

const REFRESH_REFUSED: &str = "the refresh token is invalid, used or expired";

/// A new pair in login `family` (a fresh login names a new one).
pub async fn issue_pair(
    store: &Store,
    user: &UserRecord,
    lifetimes: LoginLifetimes,
    family: String,
) -> Result<LoginPair, AccountError> {
    let (access, access_record) = issue_token(
        store,
        user,
        NewToken {
            kind: TokenKind::Access,
            name: "login",
            scope: user.role.max_scope(),
            ttl: Some(lifetimes.access),
            family: Some(family.clone()),
        },
    )
    .await?;
    let (refresh, refresh_record) = issue_token(
        store,
        user,
        NewToken {
            kind: TokenKind::Refresh,
            name: "login",
            scope: user.role.max_scope(),
            ttl: Some(lifetimes.refresh),
            family: Some(family),
        },
    )
    .await?;
    Ok(LoginPair {
        access,
        access_record,
        refresh,
        refresh_record,
    })
}

/// Trades a refresh token for a new pair of the same login: the old
/// access token ends with it. A used refresh token presented again means it
/// leaked, so the whole login ends.
pub async fn refresh(
    store: &Store,
    refresh_token: &str,
    lifetimes: LoginLifetimes,
    ip: Option<IpAddr>,
) -> Result<(UserRecord, LoginPair), AccountError> {
    let now = now();
    let hash = secret::hash_token(refresh_token);
    let Some(token) = store.consume_token(&hash, TokenKind::Refresh, now).await? else {
        if let Some(old) = store.token_by_hash(&hash).await?
            && old.kind == TokenKind::Refresh
            && let Some(family) = &old.family
        {
            store.revoke_family(family, now).await?;
        }
        return Err(AccountError::Unauthenticated(REFRESH_REFUSED.to_owned()));
    };
    let family = token
        .family
        .clone()
        .unwrap_or_else(|| agentd_protocol::ids::prefixed_id("login"));
    store.revoke_family(&family, now).await?;
    let user = store
        .get_user(&token.user_id)
        .await?
        .filter(|u| u.disabled_at.is_none())
        .ok_or_else(|| AccountError::Unauthenticated(REFRESH_REFUSED.to_owned()))?;
    let pair = issue_pair(store, &user, lifetimes, family).await?;
    let actor = Actor {
        id: Some(user.id.clone()),
        name: user.name.clone(),
        ip,
    };
    audit::record(store, actor, "login.refresh", None, json!({})).await;
    Ok((user, pair))
}

/// Ends the login the presented token belongs to (its whole family), or
/// the token alone when it is not a login's.
pub async fn logout(
    store: &Store,
    actor: Actor,
    token_id: &str,
    family: Option<&str>,
    kind: TokenKind,
) -> Result<(), AccountError> {
    let now = now();
    match family {
        Some(family) => {
            store.revoke_family(family, now).await?;
        }
        None => {
            store.revoke_token(token_id, now).await?;
        }
    }
    let detail = json!({"kind": kind.as_str()});
    audit::record(store, actor, "logout", Some(token_id.to_owned()), detail).await;
    Ok(())
}

/// Ends every login of `user_id` (browser sessions, access and refresh
/// tokens, unused tickets); personal access tokens stay. Returns how many
/// tokens ended.
pub async fn logout_all(store: &Store, actor: Actor, user_id: &str) -> Result<u64, AccountError> {
    let kinds = [
        TokenKind::Web,
        TokenKind::Access,
        TokenKind::Refresh,
        TokenKind::Ticket,
    ];
    let revoked = store.revoke_user_tokens(user_id, &kinds, now()).await?;
    let detail = json!({"revoked": revoked});
    audit::record(store, actor, "logout.all", Some(user_id.to_owned()), detail).await;
    Ok(revoked)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use agentd_protocol::UserRole;

    /// Each refresh token works once; presenting a used one again ends the
    /// login it came from, including the pair the honest refresh got.
    #[tokio::test]
    async fn a_replayed_refresh_token_ends_the_whole_login() {
        let (store, _dir) = agentd_store::testing::sqlite_temp().await;
        let user = crate::accounts::create_user(&store, "ann", UserRole::Member, None)
            .await
            .unwrap();
        let lifetimes = LoginLifetimes {
            access: Duration::from_secs(60),
            refresh: Duration::from_secs(600),
        };
        let first = issue_pair(&store, &user, lifetimes, "login_1".into())
            .await
            .unwrap();
        let (_, second) = refresh(&store, &first.refresh, lifetimes, None)
            .await
            .unwrap();
        assert_eq!(second.refresh_record.family.as_deref(), Some("login_1"));
        let active = |token: &TokenRecord| token.is_live(now());
        let reread = |id: String| {
            let store = store.clone();
            async move { store.get_token(&id).await.unwrap().unwrap() }
        };
        assert!(!active(&reread(first.access_record.id.clone()).await));
        assert!(active(&reread(second.access_record.id.clone()).await));

        let replay = refresh(&store, &first.refresh, lifetimes, None).await;
        assert!(matches!(replay, Err(AccountError::Unauthenticated(_))));
        assert!(!active(&reread(second.access_record.id.clone()).await));
        assert!(!active(&reread(second.refresh_record.id.clone()).await));
    }
}
