//! The `users` table: accounts, their role and password hash, and the
//! failed-login counters that throttle guessing.

use agentd_protocol::{UserRole, UserView};
use time::OffsetDateTime;

use crate::convert::{RowExt, from_ms, parse_enum, to_ms, u32_from_db};
use crate::store::on_pool;
use crate::{Store, StoreError};

/// An account as stored.
#[derive(Clone, PartialEq)]
pub struct UserRecord {
    pub id: String,
    pub name: String,
    pub role: UserRole,
    /// argon2id PHC string; `None` for accounts that only use tokens.
    pub password_hash: Option<String>,
    pub disabled_at: Option<OffsetDateTime>,
    pub failed_logins: u32,
    pub last_failed_at: Option<OffsetDateTime>,
    pub locked_until: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for UserRecord {
    // The hash is not a secret in the strict sense, but it has no business
    // in logs either.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("disabled_at", &self.disabled_at)
            .finish_non_exhaustive()
    }
}

impl UserRecord {
    pub fn view(&self) -> UserView {
        UserView {
            id: self.id.clone(),
            name: self.name.clone(),
            role: self.role,
            disabled: self.disabled_at.is_some(),
            locked_until: self.locked_until,
            created_at: self.created_at,
        }
    }
}

/// The failed-login state of an account after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginFailures {
    pub count: u32,
    pub last_failed_at: Option<OffsetDateTime>,
    pub locked_until: Option<OffsetDateTime>,
}

macro_rules! columns {
    () => {
        "id, name, role, password_hash, disabled_at, failed_logins, last_failed_at, \
         locked_until, created_at"
    };
}

impl Store {
    /// `Conflict` if the name is taken.
    pub async fn insert_user(&self, u: &UserRecord) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO users (id, name, role, password_hash, disabled_at, failed_logins, \
                 last_failed_at, locked_until, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&u.id)
            .bind(&u.name)
            .bind(u.role.as_str())
            .bind(&u.password_hash)
            .bind(u.disabled_at.map(to_ms))
            .bind(i64::from(u.failed_logins))
            .bind(u.last_failed_at.map(to_ms))
            .bind(u.locked_until.map(to_ms))
            .bind(to_ms(u.created_at))
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(|e| crate::write_error(e, || format!("user {}", u.name), String::new))
    }

    pub async fn get_user(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        const SQL: &str = concat!("SELECT ", columns!(), " FROM users WHERE id = $1");
        self.user_where(SQL, id).await
    }

    pub async fn get_user_by_name(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        const SQL: &str = concat!("SELECT ", columns!(), " FROM users WHERE name = $1");
        self.user_where(SQL, name).await
    }

    async fn user_where(
        &self,
        sql: &'static str,
        value: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        on_pool!(self, |pool| {
            let row = sqlx::query(sql).bind(value).fetch_optional(pool).await?;
            row.as_ref().map(decode).transpose()
        })
    }

    /// Every account, by name.
    pub async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        const SQL: &str = concat!("SELECT ", columns!(), " FROM users ORDER BY name");
        on_pool!(self, |pool| {
            let rows = sqlx::query(SQL).fetch_all(pool).await?;
            rows.iter().map(decode).collect()
        })
    }

    pub async fn count_users(&self) -> Result<u64, StoreError> {
        let n: i64 = on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM users")
                .fetch_one(pool)
                .await?
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Disables (`Some(time)`) or re-enables (`None`) an account. False if
    /// there is no such user.
    pub async fn set_user_disabled(
        &self,
        id: &str,
        disabled_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        let n = on_pool!(self, |pool| {
            sqlx::query("UPDATE users SET disabled_at = $2 WHERE id = $1")
                .bind(id)
                .bind(disabled_at.map(to_ms))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Stores the failed-login state (a failure, or a reset to zero on
    /// success and on unlock). False if there is no such user.
    pub async fn set_login_failures(&self, id: &str, f: LoginFailures) -> Result<bool, StoreError> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE users SET failed_logins = $2, last_failed_at = $3, locked_until = $4 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(i64::from(f.count))
            .bind(f.last_failed_at.map(to_ms))
            .bind(f.locked_until.map(to_ms))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }
}

fn decode(row: &impl RowExt) -> Result<UserRecord, StoreError> {
    let id = row.text("id")?;
    let what = |col: &str| format!("user {id} column {col}");
    let time = |col: &str| -> Result<Option<OffsetDateTime>, StoreError> {
        row.opt_int(col)?
            .map(|ms| from_ms(ms, || what(col)))
            .transpose()
    };
    Ok(UserRecord {
        name: row.text("name")?,
        role: parse_enum(&row.text("role")?, || what("role"))?,
        password_hash: row.opt_text("password_hash")?,
        disabled_at: time("disabled_at")?,
        failed_logins: u32_from_db(row.int("failed_logins")?, || what("failed_logins"))?,
        last_failed_at: time("last_failed_at")?,
        locked_until: time("locked_until")?,
        created_at: from_ms(row.int("created_at")?, || what("created_at"))?,
        id,
    })
}
