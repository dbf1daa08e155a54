//! Quotas and spend: the usage ledger (one row per model call of an owned
//! session), admins' per-user limit overrides, and sessions' own budgets.

use agentd_protocol::{Limits, SessionBudget, SessionId, SessionStatus, Usage};
use sqlx::QueryBuilder;

use crate::convert::{RowExt, u64_from_db, u64_to_db};
use crate::store::on_pool;
use crate::{Store, StoreError};

fn opt_u64(v: Option<u64>, what: &str) -> Result<Option<i64>, StoreError> {
    v.map(|v| u64_to_db(v, what)).transpose()
}

fn opt_u32(v: Option<u32>) -> Option<i64> {
    v.map(i64::from)
}

fn read_u64(v: Option<i64>, what: &str) -> Result<Option<u64>, StoreError> {
    v.map(|v| u64_from_db(v, || what.to_owned())).transpose()
}

fn read_u32(v: Option<i64>, what: &str) -> Result<Option<u32>, StoreError> {
    v.map(|v| {
        u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what}: {v} out of range")))
    })
    .transpose()
}

/// Sums as the portable types: PostgreSQL's SUM of BIGINT is NUMERIC.
macro_rules! sums {
    () => {
        "CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT) AS input_tokens, \
         CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT) AS output_tokens, \
         CAST(COALESCE(SUM(cache_read_tokens), 0) AS BIGINT) AS cache_read_tokens, \
         CAST(COALESCE(SUM(cache_write_tokens), 0) AS BIGINT) AS cache_write_tokens, \
         CAST(COALESCE(SUM(cost_usd), 0) AS DOUBLE PRECISION) AS cost_usd"
    };
}

fn decode_usage(row: &impl RowExt) -> Result<Usage, StoreError> {
    let tokens = |col: &str| u64_from_db(row.int(col)?, || format!("usage {col}"));
    Ok(Usage {
        input_tokens: tokens("input_tokens")?,
        output_tokens: tokens("output_tokens")?,
        cache_read_tokens: tokens("cache_read_tokens")?,
        cache_write_tokens: tokens("cache_write_tokens")?,
        cost_usd: row.float("cost_usd")?,
    })
}

impl Store {
    /// Adds one model call of `user_id`'s session to the ledger.
    pub async fn record_usage(
        &self,
        user_id: &str,
        session: SessionId,
        ts_ms: i64,
        usage: &Usage,
    ) -> Result<(), StoreError> {
        let values = [
            u64_to_db(usage.input_tokens, "input_tokens")?,
            u64_to_db(usage.output_tokens, "output_tokens")?,
            u64_to_db(usage.cache_read_tokens, "cache_read_tokens")?,
            u64_to_db(usage.cache_write_tokens, "cache_write_tokens")?,
        ];
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO usage_ledger (user_id, session_id, ts, input_tokens, \
                 output_tokens, cache_read_tokens, cache_write_tokens, cost_usd) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(user_id)
            .bind(session.to_string())
            .bind(ts_ms)
            .bind(values[0])
            .bind(values[1])
            .bind(values[2])
            .bind(values[3])
            .bind(usage.cost_usd)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// What `user_id` spent from `since_ms` (inclusive) on.
    pub async fn usage_since(&self, user_id: &str, since_ms: i64) -> Result<Usage, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            sums!(),
            " FROM usage_ledger WHERE user_id = $1 AND ts >= $2"
        );
        on_pool!(self, |pool| {
            let row = sqlx::query(SQL)
                .bind(user_id)
                .bind(since_ms)
                .fetch_one(pool)
                .await?;
            decode_usage(&row)
        })
    }

    /// Per user, what was spent from `since_ms` on (users without usage are
    /// absent).
    pub async fn usage_by_user_since(
        &self,
        since_ms: i64,
    ) -> Result<Vec<(String, Usage)>, StoreError> {
        const SQL: &str = concat!(
            "SELECT user_id, ",
            sums!(),
            " FROM usage_ledger WHERE ts >= $1 GROUP BY user_id ORDER BY user_id"
        );
        on_pool!(self, |pool| {
            let rows = sqlx::query(SQL).bind(since_ms).fetch_all(pool).await?;
            rows.iter()
                .map(|row| Ok((row.text("user_id")?, decode_usage(row)?)))
                .collect()
        })
    }

    /// The admin's overrides for `user_id` (all `None` when there are none).
    pub async fn user_limits(&self, user_id: &str) -> Result<Limits, StoreError> {
        on_pool!(self, |pool| {
            let row = sqlx::query(
                "SELECT max_running_sessions, max_sessions, session_tokens, \
                 session_cost_usd, daily_tokens, daily_cost_usd, monthly_tokens, \
                 monthly_cost_usd FROM user_quotas WHERE user_id = $1",
            )
            .bind(user_id)
            .fetch_optional(pool)
            .await?;
            let Some(row) = row else {
                return Ok(Limits::default());
            };
            Ok(Limits {
                max_running_sessions: read_u32(
                    row.opt_int("max_running_sessions")?,
                    "max_running_sessions",
                )?,
                max_sessions: read_u32(row.opt_int("max_sessions")?, "max_sessions")?,
                session_tokens: read_u64(row.opt_int("session_tokens")?, "session_tokens")?,
                session_cost_usd: row.opt_float("session_cost_usd")?,
                daily_tokens: read_u64(row.opt_int("daily_tokens")?, "daily_tokens")?,
                daily_cost_usd: row.opt_float("daily_cost_usd")?,
                monthly_tokens: read_u64(row.opt_int("monthly_tokens")?, "monthly_tokens")?,
                monthly_cost_usd: row.opt_float("monthly_cost_usd")?,
            })
        })
    }

    /// Replaces the admin's overrides for `user_id`. `NotFound` if there is
    /// no such user.
    pub async fn put_user_limits(
        &self,
        user_id: &str,
        limits: &Limits,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let session_tokens = opt_u64(limits.session_tokens, "session_tokens")?;
        let daily_tokens = opt_u64(limits.daily_tokens, "daily_tokens")?;
        let monthly_tokens = opt_u64(limits.monthly_tokens, "monthly_tokens")?;
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO user_quotas (user_id, max_running_sessions, max_sessions, \
                 session_tokens, session_cost_usd, daily_tokens, daily_cost_usd, \
                 monthly_tokens, monthly_cost_usd, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (user_id) DO UPDATE SET \
                 max_running_sessions = excluded.max_running_sessions, \
                 max_sessions = excluded.max_sessions, \
                 session_tokens = excluded.session_tokens, \
                 session_cost_usd = excluded.session_cost_usd, \
                 daily_tokens = excluded.daily_tokens, \
                 daily_cost_usd = excluded.daily_cost_usd, \
                 monthly_tokens = excluded.monthly_tokens, \
                 monthly_cost_usd = excluded.monthly_cost_usd, \
                 updated_at = excluded.updated_at",
            )
            .bind(user_id)
            .bind(opt_u32(limits.max_running_sessions))
            .bind(opt_u32(limits.max_sessions))
            .bind(session_tokens)
            .bind(limits.session_cost_usd)
            .bind(daily_tokens)
            .bind(limits.daily_cost_usd)
            .bind(monthly_tokens)
            .bind(limits.monthly_cost_usd)
            .bind(now_ms)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(|e| match crate::write_error(e, String::new, String::new) {
            StoreError::NotFound(_) => StoreError::NotFound(format!("user {user_id}")),
            other => other,
        })
    }

    /// The session's own budget, if it has one.
    pub async fn session_budget(
        &self,
        session: SessionId,
    ) -> Result<Option<SessionBudget>, StoreError> {
        on_pool!(self, |pool| {
            let row =
                sqlx::query("SELECT tokens, cost_usd FROM session_budgets WHERE session_id = $1")
                    .bind(session.to_string())
                    .fetch_optional(pool)
                    .await?;
            row.map(|row| {
                Ok(SessionBudget {
                    tokens: read_u64(row.opt_int("tokens")?, "tokens")?,
                    cost_usd: row.opt_float("cost_usd")?,
                })
            })
            .transpose()
        })
    }

    pub async fn put_session_budget(
        &self,
        session: SessionId,
        budget: &SessionBudget,
    ) -> Result<(), StoreError> {
        let tokens = opt_u64(budget.tokens, "tokens")?;
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO session_budgets (session_id, tokens, cost_usd) VALUES ($1, $2, $3) \
                 ON CONFLICT (session_id) DO UPDATE SET tokens = excluded.tokens, \
                 cost_usd = excluded.cost_usd",
            )
            .bind(session.to_string())
            .bind(tokens)
            .bind(budget.cost_usd)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(|e| crate::write_error(e, || format!("session {session}"), || session.to_string()))
    }

    /// How many sessions `owner` has, only those in `statuses` when given.
    pub async fn count_sessions_of(
        &self,
        owner: &str,
        statuses: Option<&[SessionStatus]>,
    ) -> Result<u32, StoreError> {
        on_pool!(self, |pool| {
            let mut q = QueryBuilder::new(
                "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM sessions WHERE owner_id = ",
            );
            q.push_bind(owner.to_owned());
            if let Some(statuses) = statuses {
                q.push(" AND status IN (");
                let mut list = q.separated(", ");
                for status in statuses {
                    list.push_bind(status.as_str());
                }
                q.push(")");
            }
            let row = q.build().fetch_one(pool).await?;
            let n = row.int("n")?;
            u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("session count {n}")))
        })
    }
}
