//! The `shares` table: download-only links to one file of a session's
//! workspace. Only a SHA-256 of each link's token is stored; a link is found
//! by the hash of what the client presents. Deleting the session (or the
//! user who made the link) deletes its links.

use agentd_protocol::{SessionId, ShareView};
use time::OffsetDateTime;

use crate::convert::{RowExt, from_ms, to_ms};
use crate::store::on_pool;
use crate::{Store, StoreError};

#[derive(Clone, Debug, PartialEq)]
pub struct ShareRecord {
    pub id: String,
    pub session_id: SessionId,
    /// Relative to the workspace root, as normalised by the files API.
    pub path: String,
    /// Hex SHA-256 of the link's token.
    pub token_hash: String,
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

impl ShareRecord {
    pub fn view(&self) -> ShareView {
        ShareView {
            id: self.id.clone(),
            path: self.path.clone(),
            created_by: self.created_by.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
        }
    }
}

macro_rules! columns {
    () => {
        "id, session_id, path, token_hash, created_by, created_at, expires_at, revoked_at"
    };
}

impl Store {
    /// `NotFound` if the session does not exist.
    pub async fn insert_share(&self, s: &ShareRecord) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(concat!(
                "INSERT INTO shares (",
                columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .bind(&s.id)
            .bind(s.session_id.to_string())
            .bind(&s.path)
            .bind(&s.token_hash)
            .bind(&s.created_by)
            .bind(to_ms(s.created_at))
            .bind(to_ms(s.expires_at))
            .bind(s.revoked_at.map(to_ms))
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(|e| {
            crate::write_error(e, || format!("share {}", s.id), || s.session_id.to_string())
        })
    }

    pub async fn share_by_hash(&self, hash: &str) -> Result<Option<ShareRecord>, StoreError> {
        const SQL: &str = concat!("SELECT ", columns!(), " FROM shares WHERE token_hash = $1");
        on_pool!(self, |pool| {
            let row = sqlx::query(SQL).bind(hash).fetch_optional(pool).await?;
            row.as_ref().map(decode).transpose()
        })
    }

    /// The link `id` of `session` (`None` if it belongs to another session).
    pub async fn get_share(
        &self,
        session: SessionId,
        id: &str,
    ) -> Result<Option<ShareRecord>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM shares WHERE id = $1 AND session_id = $2"
        );
        on_pool!(self, |pool| {
            let row = sqlx::query(SQL)
                .bind(id)
                .bind(session.to_string())
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(decode).transpose()
        })
    }

    /// A session's links, newest first, revoked and expired ones included.
    pub async fn list_shares(&self, session: SessionId) -> Result<Vec<ShareRecord>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM shares WHERE session_id = $1 ORDER BY created_at DESC, id DESC"
        );
        on_pool!(self, |pool| {
            let rows = sqlx::query(SQL)
                .bind(session.to_string())
                .fetch_all(pool)
                .await?;
            rows.iter().map(decode).collect()
        })
    }

    /// Revokes one link. False if it does not exist or was revoked before.
    pub async fn revoke_share(&self, id: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        let n = on_pool!(self, |pool| {
            sqlx::query("UPDATE shares SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id)
                .bind(to_ms(now))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }
}

fn decode(row: &impl RowExt) -> Result<ShareRecord, StoreError> {
    let id = row.text("id")?;
    let what = |col: &str| format!("share {id} column {col}");
    let session = row.text("session_id")?;
    Ok(ShareRecord {
        session_id: session.parse().map_err(|_| {
            StoreError::Corrupt(format!("{}: bad id {session:?}", what("session_id")))
        })?,
        path: row.text("path")?,
        token_hash: row.text("token_hash")?,
        created_by: row.text("created_by")?,
        created_at: from_ms(row.int("created_at")?, || what("created_at"))?,
        expires_at: from_ms(row.int("expires_at")?, || what("expires_at"))?,
        revoked_at: row
            .opt_int("revoked_at")?
            .map(|ms| from_ms(ms, || what("revoked_at")))
            .transpose()?,
        id,
    })
}
