//! The append-only `audit_log` table. Rows are only ever inserted.

use agentd_protocol::AuditEntry;
use sqlx::QueryBuilder;
use time::OffsetDateTime;

use crate::convert::{RowExt, from_ms, parse_json, to_json, to_ms};
use crate::store::on_pool;
use crate::{Store, StoreError};

/// An entry to append (the id and time are assigned here).
#[derive(Clone, Debug, PartialEq)]
pub struct NewAuditEntry {
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: serde_json::Value,
    pub ip: Option<String>,
}

/// Which entries to read, newest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditFilter {
    /// Only entries by this user id.
    pub actor_id: Option<String>,
    /// Only entries by this actor name.
    pub actor_name: Option<String>,
    pub action: Option<String>,
    /// Only entries at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only entries older than this id (paging).
    pub before: Option<i64>,
    pub limit: u32,
}

impl Store {
    pub async fn append_audit(
        &self,
        e: &NewAuditEntry,
        ts: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let detail = to_json(&e.detail, "audit detail")?;
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO audit_log (ts, actor_id, actor_name, action, target, detail, ip) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(to_ms(ts))
            .bind(&e.actor_id)
            .bind(&e.actor_name)
            .bind(&e.action)
            .bind(&e.target)
            .bind(detail)
            .bind(&e.ip)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    pub async fn list_audit(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        on_pool!(self, |pool| {
            let mut q = QueryBuilder::new(
                "SELECT id, ts, actor_id, actor_name, action, target, detail, ip FROM audit_log",
            );
            let mut joiner = " WHERE ";
            if let Some(v) = &f.actor_id {
                q.push(joiner).push("actor_id = ").push_bind(v.clone());
                joiner = " AND ";
            }
            if let Some(v) = &f.actor_name {
                q.push(joiner).push("actor_name = ").push_bind(v.clone());
                joiner = " AND ";
            }
            if let Some(v) = &f.action {
                q.push(joiner).push("action = ").push_bind(v.clone());
                joiner = " AND ";
            }
            if let Some(v) = f.since {
                q.push(joiner).push("ts >= ").push_bind(to_ms(v));
                joiner = " AND ";
            }
            if let Some(v) = f.before {
                q.push(joiner).push("id < ").push_bind(v);
            }
            q.push(" ORDER BY id DESC LIMIT ")
                .push_bind(i64::from(f.limit));
            let rows = q.build().fetch_all(pool).await?;
            rows.iter().map(decode).collect()
        })
    }
}

fn decode(row: &impl RowExt) -> Result<AuditEntry, StoreError> {
    let id = row.int("id")?;
    let what = |col: &str| format!("audit entry {id} column {col}");
    Ok(AuditEntry {
        id,
        ts: from_ms(row.int("ts")?, || what("ts"))?,
        actor_id: row.opt_text("actor_id")?,
        actor_name: row.text("actor_name")?,
        action: row.text("action")?,
        target: row.opt_text("target")?,
        detail: parse_json(&row.text("detail")?, || what("detail"))?,
        ip: row.opt_text("ip")?,
    })
}
