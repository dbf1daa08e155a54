//! The `tokens` table: personal access tokens, login access/refresh tokens
//! and single-use tickets. Only a SHA-256 of each secret is stored; a token
//! is found by the hash of what the client presents.

use std::fmt;
use std::str::FromStr;

use agentd_protocol::{Scope, TokenView};
use time::OffsetDateTime;

use crate::convert::{RowExt, from_ms, parse_enum, to_ms};
use crate::store::on_pool;
use crate::{Store, StoreError};

/// What a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A personal access token for scripts and the CLI.
    Pat,
    /// The short-lived half of a login.
    Access,
    /// Trades for a new access + refresh pair.
    Refresh,
    /// Single use, seconds long, for EventSource/WebSocket URLs.
    Ticket,
    /// A browser's login, carried in an HttpOnly cookie.
    Web,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pat => "pat",
            Self::Access => "access",
            Self::Refresh => "refresh",
            Self::Ticket => "ticket",
            Self::Web => "web",
        }
    }
}

impl FromStr for TokenKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        [
            Self::Pat,
            Self::Access,
            Self::Refresh,
            Self::Ticket,
            Self::Web,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or(())
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token as stored: metadata and the hash, never the secret.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenRecord {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub kind: TokenKind,
    /// Hex SHA-256 of the secret.
    pub token_hash: String,
    pub scope: Scope,
    /// A login's access and refresh tokens share a family; logout and
    /// refresh revoke it as a whole.
    pub family: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
}

impl TokenRecord {
    pub fn view(&self) -> TokenView {
        TokenView {
            id: self.id.clone(),
            name: self.name.clone(),
            scope: self.scope,
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            revoked_at: self.revoked_at,
        }
    }

    /// Not revoked and not past its expiry at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|t| t > now)
    }
}

macro_rules! columns {
    () => {
        "id, user_id, name, kind, token_hash, scope, family, created_at, expires_at, \
         revoked_at, last_used_at"
    };
}

impl Store {
    /// `NotFound` if the user does not exist.
    pub async fn insert_token(&self, t: &TokenRecord) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(concat!(
                "INSERT INTO tokens (",
                columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ))
            .bind(&t.id)
            .bind(&t.user_id)
            .bind(&t.name)
            .bind(t.kind.as_str())
            .bind(&t.token_hash)
            .bind(t.scope.as_str())
            .bind(&t.family)
            .bind(to_ms(t.created_at))
            .bind(t.expires_at.map(to_ms))
            .bind(t.revoked_at.map(to_ms))
            .bind(t.last_used_at.map(to_ms))
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(|e| {
            match crate::write_error(e, || format!("token {}", t.id), String::new) {
                // The only foreign key of `tokens` is the user.
                StoreError::NotFound(_) => StoreError::NotFound(format!("user {}", t.user_id)),
                other => other,
            }
        })
    }

    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        const SQL: &str = concat!("SELECT ", columns!(), " FROM tokens WHERE token_hash = $1");
        on_pool!(self, |pool| {
            let row = sqlx::query(SQL).bind(hash).fetch_optional(pool).await?;
            row.as_ref().map(decode).transpose()
        })
    }

    pub async fn get_token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        const SQL: &str = concat!("SELECT ", columns!(), " FROM tokens WHERE id = $1");
        on_pool!(self, |pool| {
            let row = sqlx::query(SQL).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(decode).transpose()
        })
    }

    /// A user's tokens of one kind, newest first.
    pub async fn list_tokens(
        &self,
        user_id: &str,
        kind: TokenKind,
    ) -> Result<Vec<TokenRecord>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM tokens WHERE user_id = $1 AND kind = $2 ORDER BY created_at DESC, id DESC"
        );
        on_pool!(self, |pool| {
            let rows = sqlx::query(SQL)
                .bind(user_id)
                .bind(kind.as_str())
                .fetch_all(pool)
                .await?;
            rows.iter().map(decode).collect()
        })
    }

    /// Revokes one token. False if it does not exist or was revoked before.
    pub async fn revoke_token(&self, id: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        let n = on_pool!(self, |pool| {
            sqlx::query("UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id)
                .bind(to_ms(now))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Revokes every token of a login family (logout, refresh).
    pub async fn revoke_family(
        &self,
        family: &str,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE tokens SET revoked_at = $2 WHERE family = $1 AND revoked_at IS NULL",
            )
            .bind(family)
            .bind(to_ms(now))
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }

    /// Revokes every live token of `user_id` whose kind is one of `kinds`
    /// ("log out everywhere" ends logins but keeps personal access tokens).
    pub async fn revoke_user_tokens(
        &self,
        user_id: &str,
        kinds: &[TokenKind],
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let mut total = 0;
        // One statement per kind keeps the SQL identical on both backends
        // (no array binds); the list is two or three kinds long.
        for kind in kinds {
            total += on_pool!(self, |pool| {
                sqlx::query(
                    "UPDATE tokens SET revoked_at = $3 \
                     WHERE user_id = $1 AND kind = $2 AND revoked_at IS NULL",
                )
                .bind(user_id)
                .bind(kind.as_str())
                .bind(to_ms(now))
                .execute(pool)
                .await?
                .rows_affected()
            });
        }
        Ok(total)
    }

    /// Atomically marks a live token of `kind` as used up and returns it:
    /// of two concurrent callers presenting the same ticket, one wins.
    pub async fn consume_token(
        &self,
        hash: &str,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> Result<Option<TokenRecord>, StoreError> {
        const SQL: &str = concat!(
            "UPDATE tokens SET revoked_at = $3, last_used_at = $3 \
             WHERE token_hash = $1 AND kind = $2 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $3) RETURNING ",
            columns!()
        );
        on_pool!(self, |pool| {
            let row = sqlx::query(SQL)
                .bind(hash)
                .bind(kind.as_str())
                .bind(to_ms(now))
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(decode).transpose()
        })
    }

    pub async fn touch_token(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query("UPDATE tokens SET last_used_at = $2 WHERE id = $1")
                .bind(id)
                .bind(to_ms(now))
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }
}

fn decode(row: &impl RowExt) -> Result<TokenRecord, StoreError> {
    let id = row.text("id")?;
    let what = |col: &str| format!("token {id} column {col}");
    let time = |col: &str| -> Result<Option<OffsetDateTime>, StoreError> {
        row.opt_int(col)?
            .map(|ms| from_ms(ms, || what(col)))
            .transpose()
    };
    let kind = row.text("kind")?;
    Ok(TokenRecord {
        user_id: row.text("user_id")?,
        name: row.text("name")?,
        kind: kind.parse().map_err(|()| {
            StoreError::Corrupt(format!("{}: unknown kind {kind:?}", what("kind")))
        })?,
        token_hash: row.text("token_hash")?,
        scope: parse_enum(&row.text("scope")?, || what("scope"))?,
        family: row.opt_text("family")?,
        created_at: from_ms(row.int("created_at")?, || what("created_at"))?,
        expires_at: time("expires_at")?,
        revoked_at: time("revoked_at")?,
        last_used_at: time("last_used_at")?,
        id,
    })
}
