//! The durable input queue: follow-up messages and steers accepted while a
//! turn runs, consumed when the engine acts on them.

use agentd_protocol::SessionId;
use agentd_protocol::event::InputKind;
use time::OffsetDateTime;

use crate::convert::{RowExt, from_ms, to_ms};
use crate::store::on_pool;
use crate::{Store, StoreError, write_error};

#[derive(Clone, Debug, PartialEq)]
pub struct InputRecord {
    pub id: String,
    pub session_id: SessionId,
    pub kind: InputKind,
    pub text: String,
    pub created_at: OffsetDateTime,
    pub consumed_at: Option<OffsetDateTime>,
}

/// The wire spelling (protocol has no `as_str`/`FromStr` for `InputKind`).
fn kind_str(kind: InputKind) -> &'static str {
    match kind {
        InputKind::Message => "message",
        InputKind::Steer => "steer",
    }
}

fn parse_kind(s: &str) -> Option<InputKind> {
    [InputKind::Message, InputKind::Steer]
        .into_iter()
        .find(|k| kind_str(*k) == s)
}

impl Store {
    /// `Conflict` on a duplicate input id, `NotFound` if the session does not
    /// exist.
    pub async fn enqueue_input(&self, input: &InputRecord) -> Result<(), StoreError> {
        let result = on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO inputs (id, session_id, kind, text, created_at, consumed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&input.id)
            .bind(input.session_id.to_string())
            .bind(kind_str(input.kind))
            .bind(&input.text)
            .bind(to_ms(input.created_at))
            .bind(input.consumed_at.map(to_ms))
            .execute(pool)
            .await
            .map(|_| ())
        });
        result.map_err(|e| {
            write_error(
                e,
                || format!("input {}", input.id),
                || input.session_id.to_string(),
            )
        })?;
        Ok(())
    }

    /// Unconsumed inputs of a session, in the order they were enqueued.
    pub async fn pending_inputs(&self, id: SessionId) -> Result<Vec<InputRecord>, StoreError> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT id, kind, text, created_at, consumed_at FROM inputs \
                 WHERE session_id = $1 AND consumed_at IS NULL ORDER BY pos",
            )
            .bind(id.to_string())
            .fetch_all(pool)
            .await?;
            rows.iter().map(|row| decode(id, row)).collect()
        })
    }

    /// Returns the most recently taken input of a session to the queue
    /// (start-up recovery of an input whose turn never started), or `None`
    /// when the session never took one.
    pub async fn untake_last_input(
        &self,
        id: SessionId,
    ) -> Result<Option<InputRecord>, StoreError> {
        on_pool!(self, |pool| {
            let row = sqlx::query(
                "UPDATE inputs SET consumed_at = NULL WHERE id = \
                 (SELECT id FROM inputs WHERE session_id = $1 AND consumed_at IS NOT NULL \
                  ORDER BY consumed_at DESC, pos DESC LIMIT 1) \
                 RETURNING id, kind, text, created_at, consumed_at",
            )
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(|row| decode(id, row)).transpose()
        })
    }

    /// Marks an input consumed. Idempotent: consuming it again keeps the
    /// first time (a restart may replay the consume). `NotFound` if there is
    /// no such input.
    pub async fn consume_input(
        &self,
        input_id: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let found: Option<i64> = on_pool!(self, |pool| {
            sqlx::query_scalar(
                "UPDATE inputs SET consumed_at = COALESCE(consumed_at, $2) WHERE id = $1 \
                 RETURNING pos",
            )
            .bind(input_id)
            .bind(to_ms(at))
            .fetch_optional(pool)
            .await?
        });
        match found {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound(format!("input {input_id}"))),
        }
    }
}

fn decode(session_id: SessionId, row: &impl RowExt) -> Result<InputRecord, StoreError> {
    let id = row.text("id")?;
    let what = |col: &str| format!("input {id} column {col}");
    let kind = row.text("kind")?;
    Ok(InputRecord {
        kind: parse_kind(&kind).ok_or_else(|| {
            StoreError::Corrupt(format!("{}: unknown value {kind:?}", what("kind")))
        })?,
        session_id,
        text: row.text("text")?,
        created_at: from_ms(row.int("created_at")?, || what("created_at"))?,
        consumed_at: row
            .opt_int("consumed_at")?
            .map(|ms| from_ms(ms, || what("consumed_at")))
            .transpose()?,
        id,
    })
}
