//! The append-only event log.

use std::collections::BTreeMap;

use agentd_protocol::{EventData, EventEnvelope, SessionId};
use sqlx::QueryBuilder;

use time::OffsetDateTime;

use crate::convert::{RowExt, from_ms, to_json, to_ms, u64_from_db, u64_to_db};
use crate::sessions::{Params, update_session_fields_query};
use crate::store::on_pool;
use crate::transcript::{APPEND_SQL, TranscriptWrite};
use crate::{SessionRecord, Store, StoreError, write_error};

/// Rows per INSERT statement: 5 parameters each stays under SQLite's oldest
/// limit of 999 bound parameters (PostgreSQL allows 65535).
const ROWS_PER_INSERT: usize = 150;

/// An event as column values.
struct EventRow {
    session_id: String,
    seq: i64,
    ts: i64,
    event_type: &'static str,
    data: String,
}

/// Writes that commit in the same transaction as a batch of events, so the
/// log and the rows it speaks of cannot disagree after a crash: a status
/// event and the session row, an input taken and the turn it starts.
#[derive(Clone, Debug, Default)]
pub struct BatchWrites {
    /// Session rows as they are after the batch (full-row updates, applied
    /// in order, so the last one of a session wins).
    pub sessions: Vec<SessionRecord>,
    /// Inputs the engine took, and when (idempotent: the first time stays).
    pub consumed: Vec<(String, OffsetDateTime)>,
    /// Transcript messages, appended in order.
    pub transcript: Vec<TranscriptWrite>,
}

impl BatchWrites {
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty() && self.consumed.is_empty() && self.transcript.is_empty()
    }

    /// Adds `other`'s writes after this one's.
    pub fn extend(&mut self, other: BatchWrites) {
        self.sessions.extend(other.sessions);
        self.consumed.extend(other.consumed);
        self.transcript.extend(other.transcript);
    }
}

impl Store {
    /// [`Store::append_events_with`] with no other writes.
    pub async fn append_events(&self, batch: &[EventEnvelope]) -> Result<(), StoreError> {
        self.append_events_with(batch, &BatchWrites::default())
            .await
    }

    /// Appends a batch of events (possibly of several sessions) in one
    /// transaction, and moves each session's `last_seq` to its highest `seq`
    /// in the batch. `seq` is assigned by the caller (one writer per
    /// session), contiguous from 1.
    ///
    /// `writes` commit in the same transaction, after the events.
    ///
    /// `Conflict` if any `(session_id, seq)` is already stored (or repeats in
    /// the batch), `NotFound` if a session does not exist; either way nothing
    /// of the batch is written.
    pub async fn append_events_with(
        &self,
        batch: &[EventEnvelope],
        writes: &BatchWrites,
    ) -> Result<(), StoreError> {
        if batch.is_empty() && writes.is_empty() {
            return Ok(());
        }
        let session_rows = writes
            .sessions
            .iter()
            .map(Params::new)
            .collect::<Result<Vec<_>, _>>()?;
        let transcript = writes
            .transcript
            .iter()
            .map(|t| {
                Ok((
                    t.session_id.to_string(),
                    i64::from(t.turn),
                    t.role,
                    to_json(&t.content, "transcript content")?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut rows = Vec::with_capacity(batch.len());
        let mut last_seq: BTreeMap<SessionId, i64> = BTreeMap::new();
        for ev in batch {
            let seq = u64_to_db(ev.seq, "seq")?;
            let max = last_seq.entry(ev.session_id).or_insert(seq);
            *max = (*max).max(seq);
            rows.push(EventRow {
                session_id: ev.session_id.to_string(),
                seq,
                ts: to_ms(ev.ts),
                event_type: ev.event.event_type(),
                data: to_json(&ev.event.data_json(), "event data")?,
            });
        }
        let sessions = || {
            let ids: Vec<String> = last_seq.keys().map(ToString::to_string).collect();
            ids.join(", ")
        };
        let result = on_pool!(self, |pool| {
            // The async block keeps `?` inside, so constraint errors reach
            // `write_error` below. The first statement writes, so on SQLite
            // the transaction takes the write lock at once (waiting up to the
            // busy timeout) instead of failing to upgrade a stale snapshot.
            async {
                let mut tx = pool.begin().await?;
                for chunk in rows.chunks(ROWS_PER_INSERT) {
                    let mut q =
                        QueryBuilder::new("INSERT INTO events (session_id, seq, ts, type, data) ");
                    q.push_values(chunk, |mut row, ev| {
                        row.push_bind(ev.session_id.as_str())
                            .push_bind(ev.seq)
                            .push_bind(ev.ts)
                            .push_bind(ev.event_type)
                            .push_bind(ev.data.as_str());
                    });
                    // Statement text varies with the chunk size: don't fill the
                    // per-connection statement cache with one-offs.
                    q.build().persistent(false).execute(&mut *tx).await?;
                }
                for (input, at) in &writes.consumed {
                    sqlx::query(
                        "UPDATE inputs SET consumed_at = COALESCE(consumed_at, $2) WHERE id = $1",
                    )
                    .bind(input.as_str())
                    .bind(to_ms(*at))
                    .execute(&mut *tx)
                    .await?;
                }
                for (session, turn, role, content) in &transcript {
                    sqlx::query(APPEND_SQL)
                        .bind(session.as_str())
                        .bind(*turn)
                        .bind(*role)
                        .bind(content.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
                for row in &session_rows {
                    update_session_fields_query!(row).execute(&mut *tx).await?;
                    sqlx::query(
                        "UPDATE sessions SET status = $2, status_reason = $3 WHERE id = $1",
                    )
                    .bind(row.id.as_str())
                    .bind(row.status)
                    .bind(row.status_reason.as_deref())
                    .execute(&mut *tx)
                    .await?;
                }
                for (id, seq) in &last_seq {
                    sqlx::query(
                        "UPDATE sessions SET last_seq = $2 WHERE id = $1 AND last_seq < $2",
                    )
                    .bind(id.to_string())
                    .bind(*seq)
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
                || format!("an event of session(s) {}", sessions()),
                sessions,
            )
        })
    }

    /// Events of a session with `seq > after`, ascending, at most `limit`.
    pub async fn read_events(
        &self,
        id: SessionId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<EventEnvelope>, StoreError> {
        let after = u64_to_db(after, "after")?;
        on_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT seq, ts, type, data FROM events WHERE session_id = $1 AND seq > $2 \
                 ORDER BY seq LIMIT $3",
            )
            .bind(id.to_string())
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            rows.iter().map(|row| decode(id, row)).collect()
        })
    }

    /// The latest event of a session with the given type, if any.
    pub async fn last_event_of_type(
        &self,
        id: SessionId,
        event_type: &str,
    ) -> Result<Option<EventEnvelope>, StoreError> {
        on_pool!(self, |pool| {
            let row = sqlx::query(
                "SELECT seq, ts, type, data FROM events WHERE session_id = $1 AND type = $2 \
                 ORDER BY seq DESC LIMIT 1",
            )
            .bind(id.to_string())
            .bind(event_type)
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(|row| decode(id, row)).transpose()
        })
    }

    /// The highest stored `seq` of a session (0 when it has no events).
    /// `NotFound` if the session does not exist.
    pub async fn last_seq(&self, id: SessionId) -> Result<u64, StoreError> {
        let seq: Option<i64> = on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT last_seq FROM sessions WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(pool)
                .await?
        });
        let seq = seq.ok_or_else(|| StoreError::NotFound(format!("session {id}")))?;
        u64_from_db(seq, || format!("session {id} column last_seq"))
    }
}

fn decode(session_id: SessionId, row: &impl RowExt) -> Result<EventEnvelope, StoreError> {
    let seq = row.int("seq")?;
    let what = || format!("event {seq} of session {session_id}");
    let data: serde_json::Value = serde_json::from_str(&row.text("data")?)
        .map_err(|e| StoreError::Corrupt(format!("{}: {e}", what())))?;
    let event = EventData::from_parts(&row.text("type")?, data)
        .map_err(|e| StoreError::Corrupt(format!("{}: {e}", what())))?;
    Ok(EventEnvelope {
        seq: u64_from_db(seq, what)?,
        session_id,
        ts: from_ms(row.int("ts")?, what)?,
        event,
    })
}

#[cfg(test)]
mod tests {
    use agentd_protocol::{SessionStatus, Usage, WorkspaceSpec};

    use super::*;
    use crate::SessionRecord;
    use crate::convert::truncate_to_ms;

    fn session() -> SessionRecord {
        let now = truncate_to_ms(time::OffsetDateTime::now_utc());
        SessionRecord {
            id: SessionId::new(),
            owner_id: None,
            title: String::new(),
            status: SessionStatus::Idle,
            status_reason: None,
            runtime: Default::default(),
            model: "m".into(),
            permission_mode: Default::default(),
            workspace: WorkspaceSpec::Path { path: "/w".into() },
            workspace_path: "/w".into(),
            max_turns: None,
            turns: 0,
            usage: Usage::default(),
            last_seq: 0,
            runtime_state: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[tokio::test]
    async fn an_unreadable_event_is_corrupt_and_names_its_seq() {
        let (store, _dir) = crate::testing::sqlite_temp().await;
        let session = session();
        store.insert_session(&session).await.unwrap();
        on_pool!(store, |pool| {
            sqlx::query("INSERT INTO events VALUES ($1, 7, 0, 'no.such.type', '{}')")
                .bind(session.id.to_string())
                .execute(pool)
                .await
                .map(|_| ())
        })
        .unwrap();

        let err = store.read_events(session.id, 0, 10).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Corrupt(m) if m.contains("event 7")),
            "{err:?}"
        );
        assert!(!err.is_retryable());
    }

    /// The writes of a batch commit with its events or not at all.
    #[tokio::test]
    async fn a_refused_batch_takes_no_input_and_changes_no_row() {
        use agentd_protocol::event::{InputKind, StatusChanged};
        let (store, _dir) = crate::testing::sqlite_temp().await;
        let session = session();
        store.insert_session(&session).await.unwrap();
        let input = crate::InputRecord {
            id: "in_1".into(),
            session_id: session.id,
            kind: InputKind::Message,
            text: "hello".into(),
            created_at: session.created_at,
            consumed_at: None,
        };
        store.enqueue_input(&input).await.unwrap();
        let status = |seq| EventEnvelope {
            seq,
            session_id: session.id,
            ts: session.created_at,
            event: EventData::SessionStatus(StatusChanged {
                status: SessionStatus::Running,
                reason: None,
            }),
        };
        store.append_events(&[status(1)]).await.unwrap();
        let running = SessionRecord {
            status: SessionStatus::Running,
            turns: 1,
            ..session.clone()
        };
        let writes = BatchWrites {
            sessions: vec![running.clone()],
            consumed: vec![("in_1".into(), session.created_at)],
            transcript: vec![TranscriptWrite {
                session_id: session.id,
                turn: 1,
                role: "user",
                content: serde_json::json!([{"type": "text", "text": "hello"}]),
            }],
        };

        // seq 1 is taken: the whole batch is refused.
        let err = store
            .append_events_with(&[status(1)], &writes)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
        assert_eq!(
            store.get_session(session.id).await.unwrap(),
            Some(SessionRecord {
                last_seq: 1,
                ..session.clone()
            })
        );
        assert_eq!(store.pending_inputs(session.id).await.unwrap().len(), 1);
        assert!(store.load_transcript(session.id).await.unwrap().is_empty());

        store
            .append_events_with(&[status(2)], &writes)
            .await
            .unwrap();
        assert_eq!(
            store.get_session(session.id).await.unwrap(),
            Some(SessionRecord {
                last_seq: 2,
                ..running
            })
        );
        assert!(store.pending_inputs(session.id).await.unwrap().is_empty());
        assert_eq!(store.load_transcript(session.id).await.unwrap().len(), 1);
    }
}
