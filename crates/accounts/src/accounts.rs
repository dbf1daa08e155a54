//! Account operations shared by the API and the `agentd admin` command line
//! (which works on the database directly): creating, disabling and
//! unlocking users, issuing tokens, the first start's `admin` user. The
//! operations a person asks for are audited here, so no caller forgets to.

use std::time::Duration;

use agentd_protocol::{Scope, UserRole};
use agentd_store::{LoginFailures, Store, StoreError, TokenKind, TokenRecord, UserRecord};
use serde_json::json;
use time::OffsetDateTime;

use crate::audit::{self, Actor};
use crate::secret;

pub const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_BYTES: usize = 1024;
const MAX_NAME_CHARS: usize = 64;
const MAX_TOKEN_NAME_CHARS: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    /// Credentials that do not (or no longer) prove who is asking.
    #[error("{0}")]
    Unauthenticated(String),
    /// Not allowed in the state things are in (disabling yourself, …).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] secret::HashError),
}

pub fn now() -> OffsetDateTime {
    agentd_store::truncate_to_ms(OffsetDateTime::now_utc())
}

fn validate_name(name: &str) -> Result<(), AccountError> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(AccountError::Invalid(format!(
            "a user name is 1 to {MAX_NAME_CHARS} letters, digits, '_', '-' or '.', starting with a letter or digit"
        )))
    }
}

fn validate_password(password: &str) -> Result<(), AccountError> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(AccountError::Invalid(format!(
            "a password has at least {MIN_PASSWORD_CHARS} characters (and at most {MAX_PASSWORD_BYTES} bytes)"
        )));
    }
    Ok(())
}

/// A new account. Without a password it can only use tokens.
pub async fn create_user(
    store: &Store,
    name: &str,
    role: UserRole,
    password: Option<String>,
) -> Result<UserRecord, AccountError> {
    validate_name(name)?;
    let password_hash = match password {
        Some(p) => {
            validate_password(&p)?;
            Some(secret::hash_password(p).await?)
        }
        None => None,
    };
    let user = UserRecord {
        id: agentd_protocol::ids::prefixed_id("usr"),
        name: name.to_owned(),
        role,
        password_hash,
        disabled_at: None,
        failed_logins: 0,
        last_failed_at: None,
        locked_until: None,
        created_at: now(),
    };
    match store.insert_user(&user).await {
        Ok(()) => Ok(user),
        Err(StoreError::Conflict(_)) => Err(AccountError::Conflict(format!("user {name}"))),
        Err(e) => Err(e.into()),
    }
}

/// What to issue: kind, label, scope and lifetime.
#[derive(Clone, Debug)]
pub struct NewToken<'a> {
    pub kind: TokenKind,
    pub name: &'a str,
    pub scope: Scope,
    pub ttl: Option<Duration>,
    pub family: Option<String>,
}

/// Stores a new token for `user` and returns its secret (shown once, never
/// stored) with the record.
pub async fn issue_token(
    store: &Store,
    user: &UserRecord,
    t: NewToken<'_>,
) -> Result<(String, TokenRecord), AccountError> {
    let name = t.name.trim();
    if name.is_empty() || name.chars().count() > MAX_TOKEN_NAME_CHARS {
        return Err(AccountError::Invalid(format!(
            "a token name is 1 to {MAX_TOKEN_NAME_CHARS} characters"
        )));
    }
    if t.scope > user.role.max_scope() {
        return Err(AccountError::Invalid(format!(
            "a {} cannot hold a token with scope {}",
            user.role, t.scope
        )));
    }
    let secret = secret::generate(t.kind);
    let created_at = now();
    let record = TokenRecord {
        id: agentd_protocol::ids::prefixed_id("tok"),
        user_id: user.id.clone(),
        name: name.to_owned(),
        kind: t.kind,
        token_hash: secret::hash_token(&secret),
        scope: t.scope,
        family: t.family,
        created_at,
        expires_at: t.ttl.map(|ttl| created_at + ttl),
        revoked_at: None,
        last_used_at: None,
    };
    store.insert_token(&record).await?;
    Ok((secret, record))
}

/// What the first start did about the `admin` account.
#[derive(Debug, PartialEq, Eq)]
pub enum Bootstrap {
    /// Users exist already: nothing to do.
    Existing,
    /// `admin` was created with the given password.
    CreatedWithGivenPassword,
    /// `admin` was created with this generated one-time password, to be
    /// shown to the operator exactly once.
    CreatedWithGeneratedPassword(String),
}

/// With no users at all, creates `admin` (role admin) with `password`, or a
/// generated one.
pub async fn bootstrap_admin(
    store: &Store,
    password: Option<String>,
) -> Result<Bootstrap, AccountError> {
    if store.count_users().await? > 0 {
        return Ok(Bootstrap::Existing);
    }
    let (password, outcome) = match password {
        Some(p) => (p, Bootstrap::CreatedWithGivenPassword),
        None => {
            // 32 hex characters (128 bits) from a token's random part.
            let generated = secret::generate(TokenKind::Ticket)
                [secret::prefix(TokenKind::Ticket).len()..][..32]
                .to_owned();
            (
                generated.clone(),
                Bootstrap::CreatedWithGeneratedPassword(generated),
            )
        }
    };
    match create_user(store, "admin", UserRole::Admin, Some(password)).await {
        Ok(_) => Ok(outcome),
        // Another replica starting at the same moment won the race.
        Err(AccountError::Conflict(_)) => Ok(Bootstrap::Existing),
        Err(e) => Err(e),
    }
}

/// Creates a user (see `create_user`) and audits it as `actor`'s doing.
pub async fn create_user_as(
    store: &Store,
    actor: Actor,
    name: &str,
    role: UserRole,
    password: Option<String>,
) -> Result<UserRecord, AccountError> {
    let user = create_user(store, name, role, password).await?;
    let detail = json!({"name": user.name, "role": role});
    audit::record(store, actor, "user.create", Some(user.id.clone()), detail).await;
    Ok(user)
}

/// Disables a user: their tokens and sessions stop working at once. Nobody
/// disables their own account (an admin would lock themselves out).
pub async fn disable_user(store: &Store, actor: Actor, user_id: &str) -> Result<(), AccountError> {
    if actor.id.as_deref() == Some(user_id) {
        return Err(AccountError::Refused(
            "you cannot disable your own account".to_owned(),
        ));
    }
    if !store.set_user_disabled(user_id, Some(now())).await? {
        return Err(AccountError::NotFound("user".to_owned()));
    }
    audit::record(
        store,
        actor,
        "user.disable",
        Some(user_id.to_owned()),
        json!({}),
    )
    .await;
    Ok(())
}

/// Clears a user's failed logins and lockout.
pub async fn unlock_user(store: &Store, actor: Actor, user_id: &str) -> Result<(), AccountError> {
    let cleared = LoginFailures {
        count: 0,
        last_failed_at: None,
        locked_until: None,
    };
    if !store.set_login_failures(user_id, cleared).await? {
        return Err(AccountError::NotFound("user".to_owned()));
    }
    audit::record(
        store,
        actor,
        "user.unlock",
        Some(user_id.to_owned()),
        json!({}),
    )
    .await;
    Ok(())
}

/// Longest life of a personal access token, in days.
pub const MAX_TOKEN_DAYS: u32 = 3650;

/// A personal access token for `user`, audited as `actor`'s doing; refused
/// for a disabled user. `expires_in_days` is 1 to `MAX_TOKEN_DAYS`, or
/// `None` for a token that does not expire. Returns the secret (shown
/// once) and its record.
pub async fn create_personal_token(
    store: &Store,
    actor: Actor,
    user: &UserRecord,
    name: &str,
    scope: Scope,
    expires_in_days: Option<u32>,
) -> Result<(String, TokenRecord), AccountError> {
    if user.disabled_at.is_some() {
        return Err(AccountError::Invalid(format!(
            "user {} is disabled",
            user.name
        )));
    }
    let ttl = match expires_in_days {
        None => None,
        Some(days @ 1..=MAX_TOKEN_DAYS) => Some(Duration::from_secs(u64::from(days) * 86_400)),
        Some(_) => {
            return Err(AccountError::Invalid(format!(
                "expires_in_days is 1 to {MAX_TOKEN_DAYS}"
            )));
        }
    };
    let token = NewToken {
        kind: TokenKind::Pat,
        name,
        scope,
        ttl,
        family: None,
    };
    let (secret, record) = issue_token(store, user, token).await?;
    let detail = json!({"name": record.name, "scope": record.scope, "user": user.name});
    audit::record(
        store,
        actor,
        "token.create",
        Some(record.id.clone()),
        detail,
    )
    .await;
    Ok((secret, record))
}

/// Revokes a personal access token at once (the caller decided who may).
pub async fn revoke_personal_token(
    store: &Store,
    actor: Actor,
    token: &TokenRecord,
) -> Result<(), AccountError> {
    store.revoke_token(&token.id, now()).await?;
    let detail = json!({"owner": token.user_id});
    audit::record(store, actor, "token.revoke", Some(token.id.clone()), detail).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["admin", "ann.b", "x_1-2"] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in ["", "-x", "a b", "é", &"a".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
        assert!(validate_password("short").is_err());
        assert!(validate_password("long enough pw").is_ok());
    }

    #[tokio::test]
    async fn bootstrap_creates_admin_once() {
        let (store, _dir) = agentd_store::testing::sqlite_temp().await;
        let first = bootstrap_admin(&store, None).await.unwrap();
        let Bootstrap::CreatedWithGeneratedPassword(pw) = first else {
            panic!("expected a generated password, got {first:?}")
        };
        assert_eq!(pw.len(), 32);
        let admin = store.get_user_by_name("admin").await.unwrap().unwrap();
        assert_eq!(admin.role, UserRole::Admin);
        assert!(secret::verify_password(pw, admin.password_hash).await);
        assert_eq!(
            bootstrap_admin(&store, None).await.unwrap(),
            Bootstrap::Existing
        );
    }

    async fn actions(store: &Store) -> Vec<String> {
        let filter = agentd_store::AuditFilter {
            limit: 100,
            ..Default::default()
        };
        let mut actions: Vec<String> = store
            .list_audit(&filter)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        actions.reverse();
        actions
    }

    /// The rules the API and `agentd admin` share: each operation is
    /// audited, nobody disables themselves, a disabled user gets no token,
    /// a token lives 1 to MAX_TOKEN_DAYS days.
    #[tokio::test]
    async fn account_operations_keep_their_rules_and_are_audited() {
        let (store, _dir) = agentd_store::testing::sqlite_temp().await;
        let ann = create_user_as(
            &store,
            Actor::cli(),
            "ann",
            UserRole::Admin,
            Some("a long enough password".into()),
        )
        .await
        .unwrap();
        let as_ann = Actor {
            id: Some(ann.id.clone()),
            name: ann.name.clone(),
            ip: None,
        };
        assert!(matches!(
            disable_user(&store, as_ann.clone(), &ann.id).await,
            Err(AccountError::Refused(_))
        ));
        for days in [Some(0), Some(MAX_TOKEN_DAYS + 1)] {
            assert!(matches!(
                create_personal_token(&store, as_ann.clone(), &ann, "t", Scope::Read, days).await,
                Err(AccountError::Invalid(_))
            ));
        }
        let (secret, token) =
            create_personal_token(&store, as_ann.clone(), &ann, "ci", Scope::Read, Some(30))
                .await
                .unwrap();
        assert!(secret.starts_with("agentd_pat_"));
        assert!(token.expires_at.is_some());
        revoke_personal_token(&store, as_ann, &token).await.unwrap();
        unlock_user(&store, Actor::cli(), &ann.id).await.unwrap();
        disable_user(&store, Actor::cli(), &ann.id).await.unwrap();
        let disabled = store.get_user(&ann.id).await.unwrap().unwrap();
        assert!(matches!(
            create_personal_token(&store, Actor::cli(), &disabled, "t", Scope::Read, None).await,
            Err(AccountError::Invalid(_))
        ));
        assert!(matches!(
            disable_user(&store, Actor::cli(), "usr_missing").await,
            Err(AccountError::NotFound(_))
        ));
        assert_eq!(
            actions(&store).await,
            [
                "user.create",
                "token.create",
                "token.revoke",
                "user.unlock",
                "user.disable"
            ]
        );
    }
}
