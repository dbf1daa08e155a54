//! Throwaway stores for tests, here and in other crates.
//!
//! PostgreSQL tests each get a fresh database named
//! `agentd_t_<unix seconds>_<random>` on the server at
//! `AGENTD_TEST_POSTGRES_URL` (default [`DEFAULT_POSTGRES_URL`]). The
//! [`PgGuard`] drops it: call [`PgGuard::cleanup`] at the end of a test; if
//! the test panics first, `Drop` drops it anyway, blocking briefly on a
//! helper thread (an async drop cannot be awaited, and a task spawned on the
//! test's runtime would die with it). Databases a killed test run left
//! behind are removed by the next run once they are over an hour old (the
//! creation time is in the name).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tempfile::TempDir;

use crate::{Store, StoreError};

pub const POSTGRES_URL_ENV: &str = "AGENTD_TEST_POSTGRES_URL";
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

const PREFIX: &str = "agentd_t_";
const LEFTOVER_AGE: Duration = Duration::from_secs(3600);

/// A SQLite store in a fresh temporary directory (removed when the
/// `TempDir` drops; keep it alive as long as the store).
#[expect(
    clippy::expect_used,
    reason = "a test helper: failing to set up fails the test"
)]
pub async fn sqlite_temp() -> (Store, TempDir) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let store = Store::open_sqlite(&dir.path().join("agentd.db"))
        .await
        .expect("open a SQLite store in a temporary directory");
    (store, dir)
}

/// The test server's URL (a database on it used for administration).
pub fn postgres_server_url() -> String {
    std::env::var(POSTGRES_URL_ENV).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// A store on a fresh, migrated PostgreSQL database.
pub async fn postgres_isolated() -> Result<(Store, PgGuard), StoreError> {
    let guard = postgres_new_database().await?;
    let store = Store::open_postgres(guard.url()).await?;
    Ok((store, guard))
}

/// A fresh, empty PostgreSQL database (not migrated): pass [`PgGuard::url`]
/// to a server process under test (`--database-url`).
pub async fn postgres_new_database() -> Result<PgGuard, StoreError> {
    let admin_url = postgres_server_url();
    let mut admin = PgConnection::connect(&admin_url).await?;
    remove_leftovers(&mut admin).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let random = uuid::Uuid::new_v4().simple().to_string();
    let name = format!("{PREFIX}{now}_{}", &random[..12]);
    // The name is ours (digits, hex and underscores): safe to splice in.
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(PgGuard {
        url: url_with_database(&admin_url, &name),
        admin_url,
        name,
        dropped: false,
    })
}

/// Owns a test database; drops it on [`cleanup`](Self::cleanup) or `Drop`.
pub struct PgGuard {
    admin_url: String,
    name: String,
    url: String,
    dropped: bool,
}

impl PgGuard {
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn database(&self) -> &str {
        &self.name
    }

    /// Drops the database now (best effort: failures are logged). Open
    /// connections to it, such as a store's pool, are terminated.
    pub async fn cleanup(mut self) {
        self.dropped = true;
        drop_database(&self.admin_url, &self.name).await;
    }
}

// By hand: the admin URL may carry a password.
impl std::fmt::Debug for PgGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgGuard")
            .field("database", &self.name)
            .finish_non_exhaustive()
    }
}

impl Drop for PgGuard {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropper =
            std::thread::spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(drop_database(&admin_url, &name)),
                    Err(err) => tracing::warn!(%err, database = name, "cannot drop test database"),
                }
            });
        if dropper.join().is_err() {
            tracing::warn!(database = self.name, "dropping the test database panicked");
        }
    }
}

async fn drop_database(admin_url: &str, name: &str) {
    let result = async {
        let mut admin = PgConnection::connect(admin_url).await?;
        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(&mut admin)
            .await?;
        admin.close().await
    }
    .await;
    if let Err(err) = result {
        tracing::warn!(%err, database = name, "cannot drop test database");
    }
}

/// Drops test databases older than an hour, once per process.
async fn remove_leftovers(admin: &mut PgConnection) {
    static DONE: AtomicBool = AtomicBool::new(false);
    if DONE.swap(true, Ordering::Relaxed) {
        return;
    }
    let names: Vec<String> = match sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE datname LIKE 'agentd\\_t\\_%'",
    )
    .fetch_all(&mut *admin)
    .await
    {
        Ok(names) => names,
        Err(err) => {
            tracing::warn!(%err, "cannot list test databases");
            return;
        }
    };
    let cutoff = SystemTime::now()
        .checked_sub(LEFTOVER_AGE)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    for name in names {
        let created = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once('_'))
            .and_then(|(secs, _)| secs.parse::<u64>().ok());
        if created.is_some_and(|secs| secs < cutoff) {
            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            if let Err(err) = sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *admin).await {
                tracing::warn!(%err, database = name, "cannot drop leftover test database");
            }
        }
    }
}

/// `url` with its database (path) replaced, query string kept.
fn url_with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority..].find('/') {
        Some(slash) => &base[..authority + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_is_replaced_in_urls() {
        assert_eq!(
            url_with_database("postgres://u@h:5432/test", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(url_with_database("postgres://u@h", "x"), "postgres://u@h/x");
        assert_eq!(
            url_with_database("postgresql://u:p@h/test?sslmode=disable", "x"),
            "postgresql://u:p@h/x?sslmode=disable"
        );
    }

    #[tokio::test]
    async fn a_guard_drops_its_database() {
        let guard = postgres_new_database().await.unwrap();
        let name = guard.database().to_owned();
        let exists = |name: String| async move {
            let mut admin = PgConnection::connect(&postgres_server_url()).await.unwrap();
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
                .bind(name)
                .fetch_one(&mut admin)
                .await
                .unwrap();
            n == 1
        };
        assert!(exists(name.clone()).await);
        drop(guard); // the panic path: no cleanup() call
        assert!(!exists(name).await);
    }
}
