//! The model conversation of a session, kept so a turn can continue after a
//! restart.

use agentd_protocol::SessionId;

use crate::convert::{RowExt, parse_json, to_json, u32_from_db};
use crate::store::on_pool;
use crate::{Store, StoreError, write_error};

/// One message of the conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct TranscriptEntry {
    /// 0-based position in the session's transcript, assigned on append.
    pub seq: u32,
    pub turn: u32,
    /// `"user"` or `"assistant"`.
    pub role: String,
    /// The content blocks (a JSON array in the Anthropic Messages shape).
    pub content: serde_json::Value,
}

/// Appends one message after a session's existing ones: `$1` session,
/// `$2` turn, `$3` role, `$4` content.
pub(crate) const APPEND_SQL: &str = "INSERT INTO transcript (session_id, seq, turn, role, content) \
     SELECT $1, COALESCE(MAX(seq) + 1, 0), $2, $3, $4 FROM transcript WHERE session_id = $1";

/// A transcript message to write with a batch of events
/// (`Store::append_events_with`).
#[derive(Clone, Debug, PartialEq)]
pub struct TranscriptWrite {
    pub session_id: SessionId,
    pub turn: u32,
    /// `"user"` or `"assistant"`.
    pub role: &'static str,
    pub content: serde_json::Value,
}

impl Store {
    /// Removes the messages of one turn: a prompt that a hook blocked after
    /// the turn had started must never reach the model.
    pub async fn withdraw_transcript_turn(
        &self,
        id: SessionId,
        turn: u32,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM transcript WHERE session_id = $1 AND turn = $2")
                .bind(id.to_string())
                .bind(i64::from(turn))
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// Appends `(role, content)` messages of `turn` after the existing ones,
    /// in one transaction. `NotFound` if the session does not exist.
    pub async fn append_transcript(
        &self,
        id: SessionId,
        turn: u32,
        entries: &[(String, serde_json::Value)],
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let entries = entries
            .iter()
            .map(|(role, content)| Ok((role.as_str(), to_json(content, "transcript content")?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let result = on_pool!(self, |pool| {
            // An async block, so `?` stays inside and errors reach
            // `write_error` below.
            async {
                let mut tx = pool.begin().await?;
                for (role, content) in &entries {
                    // Computing the position inside the INSERT makes the first
                    // statement a write: on SQLite the transaction holds the
                    // write lock from the start, so the next position cannot
                    // change under it.
                    sqlx::query(APPEND_SQL)
                        .bind(id.to_string())
                        .bind(i64::from(turn))
                        .bind(*role)
                        .bind(content.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await
            }
            .await
        });
        result.map_err(|e| {
            write_error(
                e,
                || format!("a transcript entry of session {id}"),
                || id.to_string(),
            )
        })
    }

    /// The whole transcript, in order.
    pub async fn load_transcript(&self, id: SessionId) -> Result<Vec<TranscriptEntry>, StoreError> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT seq, turn, role, content FROM transcript WHERE session_id = $1 \
                 ORDER BY seq",
            )
            .bind(id.to_string())
            .fetch_all(pool)
            .await?;
            rows.iter().map(|row| decode(id, row)).collect()
        })
    }
}

fn decode(id: SessionId, row: &impl RowExt) -> Result<TranscriptEntry, StoreError> {
    let seq = row.int("seq")?;
    let what = || format!("transcript entry {seq} of session {id}");
    Ok(TranscriptEntry {
        seq: u32_from_db(seq, what)?,
        turn: u32_from_db(row.int("turn")?, what)?,
        role: row.text("role")?,
        content: parse_json(&row.text("content")?, what)?,
    })
}
