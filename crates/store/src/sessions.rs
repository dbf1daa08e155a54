//! The `sessions` table.

use agentd_protocol::{
    PermissionMode, Runtime, SessionId, SessionStatus, SessionView, Usage, WorkspaceSpec,
};
use sqlx::QueryBuilder;
use time::OffsetDateTime;

use crate::convert::{
    RowExt, from_ms, parse_enum, parse_json, to_json, to_ms, u32_from_db, u64_from_db, u64_to_db,
};
use crate::store::on_pool;
use crate::{Store, StoreError, write_error};

/// A session as stored. Times are kept at millisecond precision.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionRecord {
    pub id: SessionId,
    pub owner_id: Option<String>,
    pub title: String,
    pub status: SessionStatus,
    pub status_reason: Option<String>,
    pub runtime: Runtime,
    pub model: String,
    pub permission_mode: PermissionMode,
    pub workspace: WorkspaceSpec,
    pub workspace_path: String,
    pub max_turns: Option<u32>,
    pub turns: u32,
    pub usage: Usage,
    /// Maintained by [`Store::append_events`] in the same transaction as the
    /// events; [`Store::update_session`] leaves it alone.
    pub last_seq: u64,
    /// Opaque to the store (e.g. a Claude Code session id).
    pub runtime_state: Option<serde_json::Value>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl SessionRecord {
    /// The session as the API returns it.
    pub fn view(&self) -> SessionView {
        SessionView {
            id: self.id,
            title: self.title.clone(),
            status: self.status,
            status_reason: self.status_reason.clone(),
            runtime: self.runtime,
            model: self.model.clone(),
            permission_mode: self.permission_mode,
            workspace: self.workspace.clone(),
            workspace_path: self.workspace_path.clone(),
            branch: None,
            pr_url: None,
            turns: self.turns,
            usage: self.usage,
            last_seq: self.last_seq,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// Every column, in the order of the INSERT placeholders below.
macro_rules! columns {
    () => {
        "id, owner_id, title, status, status_reason, runtime, model, permission_mode, \
         workspace, workspace_path, max_turns, turns, input_tokens, output_tokens, \
         cache_read_tokens, cache_write_tokens, cost_usd, last_seq, runtime_state, \
         created_at, updated_at"
    };
}

/// A record converted to column values, before binding.
pub(crate) struct Params {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) status: &'static str,
    pub(crate) status_reason: Option<String>,
    pub(crate) model: String,
    pub(crate) permission_mode: &'static str,
    pub(crate) turns: i64,
    pub(crate) tokens: [i64; 4],
    pub(crate) cost_usd: f64,
    pub(crate) runtime_state: Option<String>,
    pub(crate) updated_at: i64,
}

/// The UPDATE of a session's mutable fields (all but `status` and
/// `status_reason`, which change only with their `session.status` event,
/// and `last_seq`, which the event log owns), bound to `Params`; a macro so
/// one statement serves both backends and both a pool and a transaction
/// (see `Store::append_events_with`, which sets the status beside it).
macro_rules! update_session_fields_query {
    ($p:expr) => {{
        let p = &$p;
        let [input, output, cache_read, cache_write] = p.tokens;
        sqlx::query(
            "UPDATE sessions SET title = $2, model = $3, permission_mode = $4, turns = $5, \
             input_tokens = $6, output_tokens = $7, cache_read_tokens = $8, \
             cache_write_tokens = $9, cost_usd = $10, runtime_state = $11, updated_at = $12 \
             WHERE id = $1",
        )
        .bind(p.id.clone())
        .bind(p.title.clone())
        .bind(p.model.clone())
        .bind(p.permission_mode)
        .bind(p.turns)
        .bind(input)
        .bind(output)
        .bind(cache_read)
        .bind(cache_write)
        .bind(p.cost_usd)
        .bind(p.runtime_state.clone())
        .bind(p.updated_at)
    }};
}
pub(crate) use update_session_fields_query;

impl Params {
    pub(crate) fn new(s: &SessionRecord) -> Result<Self, StoreError> {
        let u = &s.usage;
        Ok(Self {
            id: s.id.to_string(),
            title: s.title.clone(),
            status: s.status.as_str(),
            status_reason: s.status_reason.clone(),
            model: s.model.clone(),
            permission_mode: s.permission_mode.as_str(),
            turns: i64::from(s.turns),
            tokens: [
                u64_to_db(u.input_tokens, "input_tokens")?,
                u64_to_db(u.output_tokens, "output_tokens")?,
                u64_to_db(u.cache_read_tokens, "cache_read_tokens")?,
                u64_to_db(u.cache_write_tokens, "cache_write_tokens")?,
            ],
            cost_usd: u.cost_usd,
            runtime_state: s
                .runtime_state
                .as_ref()
                .map(|v| to_json(v, "runtime_state"))
                .transpose()?,
            updated_at: to_ms(s.updated_at),
        })
    }
}

impl Store {
    /// `Conflict` if a session with this id exists.
    pub async fn insert_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        let p = Params::new(s)?;
        let workspace = to_json(&s.workspace, "workspace")?;
        let last_seq = u64_to_db(s.last_seq, "last_seq")?;
        let [input, output, cache_read, cache_write] = p.tokens;
        on_pool!(self, |pool| {
            sqlx::query(concat!(
                "INSERT INTO sessions (",
                columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                 $16, $17, $18, $19, $20, $21)"
            ))
            .bind(&p.id)
            .bind(&s.owner_id)
            .bind(p.title)
            .bind(p.status)
            .bind(p.status_reason)
            .bind(s.runtime.as_str())
            .bind(p.model)
            .bind(p.permission_mode)
            .bind(workspace)
            .bind(&s.workspace_path)
            .bind(s.max_turns.map(i64::from))
            .bind(p.turns)
            .bind(input)
            .bind(output)
            .bind(cache_read)
            .bind(cache_write)
            .bind(p.cost_usd)
            .bind(last_seq)
            .bind(p.runtime_state)
            .bind(to_ms(s.created_at))
            .bind(p.updated_at)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(|e| write_error(e, || format!("session {}", s.id), || s.id.to_string()))?;
        Ok(())
    }

    pub async fn get_session(&self, id: SessionId) -> Result<Option<SessionRecord>, StoreError> {
        const SQL: &str = concat!("SELECT ", columns!(), " FROM sessions WHERE id = $1");
        on_pool!(self, |pool| {
            let row = sqlx::query(SQL)
                .bind(id.to_string())
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(decode).transpose()
        })
    }

    /// Writes the mutable fields (title, model, permission_mode, turns,
    /// usage, runtime_state, updated_at). Never `status`/`status_reason`:
    /// they change only in the transaction of their `session.status` event
    /// (`Store::append_events_with`), so a stale record written here cannot
    /// make the row disagree with the log. Never `last_seq`: the event log
    /// owns it. `NotFound` if the session is gone.
    pub async fn update_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        let p = Params::new(s)?;
        let result = on_pool!(self, |pool| update_session_fields_query!(p)
            .execute(pool)
            .await?
            .rows_affected());
        if result == 0 {
            return Err(StoreError::NotFound(format!("session {}", s.id)));
        }
        Ok(())
    }

    /// Newest first. `before` continues a listing after (older than) that
    /// session; `status` filters.
    pub async fn list_sessions(
        &self,
        status: Option<SessionStatus>,
        before: Option<SessionId>,
        limit: u32,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        self.list_sessions_of(None, status, before, limit).await
    }

    /// Like [`Store::list_sessions`], only the sessions of `owner` when given
    /// (a member's view; admins pass `None`).
    pub async fn list_sessions_of(
        &self,
        owner: Option<&str>,
        status: Option<SessionStatus>,
        before: Option<SessionId>,
        limit: u32,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        on_pool!(self, |pool| {
            let mut q = QueryBuilder::new(concat!("SELECT ", columns!(), " FROM sessions"));
            let mut joiner = " WHERE ";
            if let Some(owner) = owner {
                q.push(joiner)
                    .push("owner_id = ")
                    .push_bind(owner.to_owned());
                joiner = " AND ";
            }
            if let Some(status) = status {
                q.push(joiner).push("status = ").push_bind(status.as_str());
                joiner = " AND ";
            }
            if let Some(before) = before {
                q.push(joiner).push("id < ").push_bind(before.to_string());
            }
            q.push(" ORDER BY id DESC LIMIT ")
                .push_bind(i64::from(limit));
            let rows = q.build().fetch_all(pool).await?;
            rows.iter().map(decode).collect()
        })
    }

    /// Every session in one of `statuses`, oldest first (for recovery at
    /// startup, e.g. marking active sessions `interrupted`).
    pub async fn sessions_with_status(
        &self,
        statuses: &[SessionStatus],
    ) -> Result<Vec<SessionRecord>, StoreError> {
        if statuses.is_empty() {
            return Ok(Vec::new());
        }
        on_pool!(self, |pool| {
            let mut q = QueryBuilder::new(concat!(
                "SELECT ",
                columns!(),
                " FROM sessions WHERE status IN ("
            ));
            let mut list = q.separated(", ");
            for status in statuses {
                list.push_bind(status.as_str());
            }
            q.push(") ORDER BY id");
            let rows = q.build().fetch_all(pool).await?;
            rows.iter().map(decode).collect()
        })
    }

    /// Sessions start-up recovery must look at, oldest first: those in one
    /// of `statuses` (a turn may have been running), those with an input not
    /// yet taken, whatever their status, and those whose row's status is
    /// not what their last `session.status` event says (only a database
    /// written before the two were one transaction has any).
    pub async fn sessions_to_recover(
        &self,
        statuses: &[SessionStatus],
    ) -> Result<Vec<SessionRecord>, StoreError> {
        on_pool!(self, |pool| {
            let mut q = QueryBuilder::new(concat!(
                "SELECT ",
                columns!(),
                " FROM sessions WHERE id IN \
                 (SELECT session_id FROM inputs WHERE consumed_at IS NULL) \
                 OR EXISTS (SELECT 1 FROM events e WHERE e.session_id = sessions.id \
                   AND e.type = 'session.status' \
                   AND e.seq = (SELECT MAX(m.seq) FROM events m \
                     WHERE m.session_id = sessions.id AND m.type = 'session.status') \
                   AND e.data NOT LIKE '%\"status\":\"' || sessions.status || '\"%')"
            ));
            if !statuses.is_empty() {
                q.push(" OR status IN (");
                let mut list = q.separated(", ");
                for status in statuses {
                    list.push_bind(status.as_str());
                }
                q.push(")");
            }
            q.push(" ORDER BY id");
            let rows = q.build().fetch_all(pool).await?;
            rows.iter().map(decode).collect()
        })
    }

    /// Removes the session with its events, transcript and inputs (by
    /// `ON DELETE CASCADE`). False if there was no such session.
    pub async fn delete_session(&self, id: SessionId) -> Result<bool, StoreError> {
        let deleted = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM sessions WHERE id = $1")
                .bind(id.to_string())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(deleted > 0)
    }
}

fn decode(row: &impl RowExt) -> Result<SessionRecord, StoreError> {
    let id_text = row.text("id")?;
    let what = |col: &str| format!("session {id_text} column {col}");
    let count = |col: &str| u64_from_db(row.int(col)?, || what(col));
    Ok(SessionRecord {
        id: parse_enum(&id_text, || what("id"))?,
        owner_id: row.opt_text("owner_id")?,
        title: row.text("title")?,
        status: parse_enum(&row.text("status")?, || what("status"))?,
        status_reason: row.opt_text("status_reason")?,
        runtime: parse_enum(&row.text("runtime")?, || what("runtime"))?,
        model: row.text("model")?,
        permission_mode: parse_enum(&row.text("permission_mode")?, || what("permission_mode"))?,
        workspace: parse_json(&row.text("workspace")?, || what("workspace"))?,
        workspace_path: row.text("workspace_path")?,
        max_turns: row
            .opt_int("max_turns")?
            .map(|v| u32_from_db(v, || what("max_turns")))
            .transpose()?,
        turns: u32_from_db(row.int("turns")?, || what("turns"))?,
        usage: Usage {
            input_tokens: count("input_tokens")?,
            output_tokens: count("output_tokens")?,
            cache_read_tokens: count("cache_read_tokens")?,
            cache_write_tokens: count("cache_write_tokens")?,
            cost_usd: row.float("cost_usd")?,
        },
        last_seq: count("last_seq")?,
        runtime_state: row
            .opt_text("runtime_state")?
            .map(|s| parse_json(&s, || what("runtime_state")))
            .transpose()?,
        created_at: from_ms(row.int("created_at")?, || what("created_at"))?,
        updated_at: from_ms(row.int("updated_at")?, || what("updated_at"))?,
    })
}
