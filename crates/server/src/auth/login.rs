//! Checking a name and password, shared by the token login and the browser
//! session login: throttling per address and per account, lockout, and the
//! audit entries of failures.

use std::net::IpAddr;

use agentd_store::{LoginFailures, UserRecord};
use serde_json::json;

use super::accounts;
use super::audit::{self, Actor};
use super::secret;
use super::throttle::Refusal;
use crate::error::ApiError;
use crate::state::AppState;

const BAD_LOGIN: &str = "invalid name or password";
const MAX_NAME_IN_AUDIT: usize = 64;

/// The account `name` if `password` is right and the account usable; each
/// failure slows down, then locks, the account (and the address).
pub(crate) async fn password_login(
    state: &AppState,
    ip: Option<IpAddr>,
    name: &str,
    password: String,
) -> Result<UserRecord, ApiError> {
    let store = state.manager.store();
    let policy = &state.auth.config.login;
    let now = accounts::now();
    state.auth.ips.check(policy, ip, now).map_err(refused)?;
    let user = store.get_user_by_name(name).await?;
    let failures = user.as_ref().map(|u| policy.current(u, now));
    if let Some(f) = failures {
        policy.check_account(f, now).map_err(refused)?;
    }
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let password_ok = secret::verify_password(password, hash).await;
    let usable = user.as_ref().filter(|u| u.disabled_at.is_none());
    let (Some(user), true) = (usable.cloned(), password_ok) else {
        state.auth.ips.failed(policy, ip, now);
        let actor = Actor {
            id: user.as_ref().map(|u| u.id.clone()),
            name: name.chars().take(MAX_NAME_IN_AUDIT).collect(),
            ip,
        };
        if let (Some(u), Some(f)) = (&user, failures) {
            let next = policy.after_failure(f, now);
            store.set_login_failures(&u.id, next).await?;
            if next.locked_until.is_some() && f.locked_until.is_none() {
                audit::record(
                    store,
                    actor.clone(),
                    "user.locked",
                    Some(u.id.clone()),
                    json!({"failures": next.count}),
                )
                .await;
            }
        }
        audit::record(store, actor, "login.failure", None, json!({})).await;
        return Err(ApiError::unauthorized(BAD_LOGIN));
    };
    if user.failed_logins > 0 || user.locked_until.is_some() {
        store
            .set_login_failures(
                &user.id,
                LoginFailures {
                    count: 0,
                    last_failed_at: None,
                    locked_until: None,
                },
            )
            .await?;
    }
    Ok(user)
}

fn refused(r: Refusal) -> ApiError {
    match r {
        Refusal::Locked { retry_after } => ApiError::rate_limited(
            retry_after,
            "the account is locked after too many failed logins; wait or ask an admin to unlock it",
        ),
        Refusal::Backoff { retry_after } => ApiError::rate_limited(
            retry_after,
            "too many failed logins; wait before trying again",
        ),
    }
}
