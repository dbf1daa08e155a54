//! Idempotency keys: the first response to a request that carried an
//! `Idempotency-Key`, per user, so a retry replays it instead of acting
//! twice. A key is claimed (a row with status 0) before the request runs,
//! which makes two concurrent requests with one key see each other.

use time::OffsetDateTime;

use crate::convert::{RowExt, to_ms};
use crate::store::on_pool;
use crate::{Store, StoreError};

/// What claiming a key found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key was free; the caller runs the request, then completes or
    /// releases the key.
    Claimed,
    /// Another request with this key is still running.
    InProgress { request_hash: String },
    /// A request with this key already finished with this response.
    Done(StoredResponse),
}

/// A response kept for replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    pub request_hash: String,
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

impl Store {
    /// Claims `key` for `user_id`, first forgetting every key created
    /// before `expired_before`.
    pub async fn claim_idempotency_key(
        &self,
        user_id: &str,
        key: &str,
        request_hash: &str,
        now: OffsetDateTime,
        expired_before: OffsetDateTime,
    ) -> Result<IdempotencyClaim, StoreError> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                .bind(to_ms(expired_before))
                .execute(pool)
                .await?;
            let inserted = sqlx::query(
                "INSERT INTO idempotency_keys (user_id, idem_key, request_hash, status, created_at) \
                 VALUES ($1, $2, $3, 0, $4) ON CONFLICT (user_id, idem_key) DO NOTHING",
            )
            .bind(user_id)
            .bind(key)
            .bind(request_hash)
            .bind(to_ms(now))
            .execute(pool)
            .await?
            .rows_affected();
            if inserted == 1 {
                return Ok(IdempotencyClaim::Claimed);
            }
            let row = sqlx::query(
                "SELECT request_hash, status, content_type, body FROM idempotency_keys \
                 WHERE user_id = $1 AND idem_key = $2",
            )
            .bind(user_id)
            .bind(key)
            .fetch_optional(pool)
            .await?;
            match row {
                // Released between our insert and select: report it as
                // running; the client's retry will claim it.
                None => Ok(IdempotencyClaim::InProgress {
                    request_hash: request_hash.to_owned(),
                }),
                Some(row) => decode(&row),
            }
        })
    }

    /// Keeps the response of the request that claimed `key`.
    pub async fn complete_idempotency_key(
        &self,
        user_id: &str,
        key: &str,
        status: u16,
        content_type: Option<&str>,
        body: &str,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5 \
                 WHERE user_id = $1 AND idem_key = $2",
            )
            .bind(user_id)
            .bind(key)
            .bind(i64::from(status))
            .bind(content_type)
            .bind(body)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(StoreError::from)
    }

    /// Frees a claimed key whose request failed, so a retry runs again.
    pub async fn release_idempotency_key(
        &self,
        user_id: &str,
        key: &str,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "DELETE FROM idempotency_keys WHERE user_id = $1 AND idem_key = $2 AND status = 0",
            )
            .bind(user_id)
            .bind(key)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(StoreError::from)
    }
}

fn decode(row: &impl RowExt) -> Result<IdempotencyClaim, StoreError> {
    let request_hash = row.text("request_hash")?;
    let status = row.int("status")?;
    if status == 0 {
        return Ok(IdempotencyClaim::InProgress { request_hash });
    }
    let status = u16::try_from(status)
        .map_err(|_| StoreError::Corrupt(format!("idempotency status {status}")))?;
    Ok(IdempotencyClaim::Done(StoredResponse {
        request_hash,
        status,
        content_type: row.opt_text("content_type")?,
        body: row.opt_text("body")?.unwrap_or_default(),
    }))
}
