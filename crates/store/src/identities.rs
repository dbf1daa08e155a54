//! External identities (a GitHub account linked to an agentd user) and the
//! short-lived OAuth `state` values that protect the redirect round trip.

use time::OffsetDateTime;

use crate::convert::{RowExt, from_ms, to_ms};
use crate::store::on_pool;
use crate::{Store, StoreError};

/// An account at an identity provider linked to a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityRecord {
    /// `github`.
    pub provider: String,
    /// The provider's stable user id (GitHub's numeric id, as text).
    pub subject: String,
    pub user_id: String,
    /// The provider's user name when the link was made (names can change;
    /// the subject does not).
    pub login: String,
    pub created_at: OffsetDateTime,
}

/// A `state` issued by the OAuth start route, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthState {
    /// Hex SHA-256 of the state value.
    pub state_hash: String,
    /// The user who started the flow to link their account, if logged in.
    pub link_user_id: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

impl Store {
    /// `Conflict` if the identity is linked already (to anyone).
    pub async fn insert_identity(&self, i: &IdentityRecord) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO user_identities (provider, subject, user_id, login, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&i.provider)
            .bind(&i.subject)
            .bind(&i.user_id)
            .bind(&i.login)
            .bind(to_ms(i.created_at))
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(|e| {
            match crate::write_error(
                e,
                || format!("{} identity {}", i.provider, i.subject),
                String::new,
            ) {
                StoreError::NotFound(_) => StoreError::NotFound(format!("user {}", i.user_id)),
                other => other,
            }
        })
    }

    pub async fn identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<IdentityRecord>, StoreError> {
        on_pool!(self, |pool| {
            let row = sqlx::query(
                "SELECT provider, subject, user_id, login, created_at FROM user_identities \
                 WHERE provider = $1 AND subject = $2",
            )
            .bind(provider)
            .bind(subject)
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(decode_identity).transpose()
        })
    }

    pub async fn insert_oauth_state(&self, s: &OAuthState) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO oauth_states (state_hash, link_user_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&s.state_hash)
            .bind(&s.link_user_id)
            .bind(to_ms(s.created_at))
            .bind(to_ms(s.expires_at))
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(|e| crate::write_error(e, || "oauth state".to_owned(), String::new))
    }

    /// Removes the state and returns it if it was there and unexpired: of two
    /// callbacks with the same state, one wins. Expired states are swept on
    /// the way, so abandoned logins do not pile up.
    pub async fn consume_oauth_state(
        &self,
        state_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<OAuthState>, StoreError> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM oauth_states WHERE expires_at <= $1")
                .bind(to_ms(now))
                .execute(pool)
                .await?;
            let row = sqlx::query(
                "DELETE FROM oauth_states WHERE state_hash = $1 AND expires_at > $2 \
                 RETURNING state_hash, link_user_id, created_at, expires_at",
            )
            .bind(state_hash)
            .bind(to_ms(now))
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(decode_state).transpose()
        })
    }
}

fn decode_identity(row: &impl RowExt) -> Result<IdentityRecord, StoreError> {
    let subject = row.text("subject")?;
    Ok(IdentityRecord {
        provider: row.text("provider")?,
        user_id: row.text("user_id")?,
        login: row.text("login")?,
        created_at: from_ms(row.int("created_at")?, || {
            format!("identity {subject} column created_at")
        })?,
        subject,
    })
}

fn decode_state(row: &impl RowExt) -> Result<OAuthState, StoreError> {
    let what = |col: &str| format!("oauth state column {col}");
    Ok(OAuthState {
        state_hash: row.text("state_hash")?,
        link_user_id: row.opt_text("link_user_id")?,
        created_at: from_ms(row.int("created_at")?, || what("created_at"))?,
        expires_at: from_ms(row.int("expires_at")?, || what("expires_at"))?,
    })
}
