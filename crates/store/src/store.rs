//! Opening the database: SQLite (embedded default) or PostgreSQL, behind one
//! cheap-to-clone [`Store`].

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::{StoreError, migrations};

/// Which database a [`Store`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// The persistence layer: sessions, their event log, transcript and input
/// queue. Clones share the connection pool.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: Pool,
}

#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to whichever pool the store holds. The body
/// is expanded once per backend, so the same SQL text (with `$N`
/// placeholders, which both drivers accept) and the same code serve both,
/// each type-checked against its driver.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// How long a SQLite writer waits for another writer's lock before giving up
/// with a (retryable) `Unavailable`.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Writes serialize in SQLite anyway; extra connections serve concurrent
/// readers (event replays for subscribers).
const SQLITE_POOL_SIZE: u32 = 8;
const POSTGRES_POOL_SIZE: u32 = 16;
/// Fail fast when the pool is exhausted or the server is away, rather than
/// hanging a request for sqlx's default 30 s.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

impl Store {
    /// Opens (creating it and its parent directory if needed) the SQLite
    /// database at `path` and applies pending migrations.
    ///
    /// Durability: WAL journal with `synchronous=NORMAL`. A committed
    /// transaction survives the process dying at any point (kill -9, panic,
    /// OOM kill) because it is in the WAL file once `COMMIT` returns; only a
    /// power loss or OS crash may lose the last few commits (never corrupting
    /// the file). That is the guarantee agentd needs, at a fraction of the
    /// fsyncs of `synchronous=FULL`.
    pub async fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir).await.map_err(|e| {
                StoreError::Config(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(SQLITE_POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        migrations::sqlite().run(&pool).await?;
        tracing::debug!(path = %path.display(), "opened sqlite store");
        Ok(Self {
            pool: Pool::Sqlite(pool),
        })
    }

    /// Connects to PostgreSQL (`postgres://…`) and applies pending
    /// migrations. Concurrent starts are safe: sqlx serializes migrations
    /// with an advisory lock.
    pub async fn open_postgres(url: &str) -> Result<Self, StoreError> {
        // Neither the URL nor sqlx's message (which may quote it) goes into
        // the error: it can carry a password.
        let options = PgConnectOptions::from_str(url).map_err(|e| {
            tracing::debug!(error = %e, "cannot parse the PostgreSQL URL");
            StoreError::Config("invalid PostgreSQL URL".into())
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(POSTGRES_POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        migrations::postgres().run(&pool).await?;
        tracing::debug!("opened postgres store");
        Ok(Self {
            pool: Pool::Postgres(pool),
        })
    }

    /// Opens the database a URL names: `sqlite://PATH` or `sqlite:PATH`
    /// (relative paths are relative to the working directory;
    /// `sqlite:///abs/path` is absolute), or `postgres://…` /
    /// `postgresql://…`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        match parse_url(url)? {
            Location::Sqlite(path) => Self::open_sqlite(Path::new(path)).await,
            Location::Postgres => Self::open_postgres(url).await,
        }
    }

    pub fn backend(&self) -> Backend {
        match &self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// A round trip to the database, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(|e| match StoreError::from(e) {
            // Whatever went wrong, a failed ping means "not ready".
            StoreError::Database(e) => StoreError::Unavailable(e),
            other => other,
        })
    }

    /// Closes every connection (waiting for ones in use). Further calls on
    /// this store or its clones fail with `Unavailable`.
    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await);
    }
}

#[derive(Debug, PartialEq)]
enum Location<'a> {
    Sqlite(&'a str),
    Postgres,
}

fn parse_url(url: &str) -> Result<Location<'_>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Location::Postgres);
    }
    let Some(rest) = url.strip_prefix("sqlite:") else {
        // The URL may carry a password: name only the scheme.
        let scheme = url.split_once(':').map_or("", |(s, _)| s);
        return Err(StoreError::Config(format!(
            "unsupported database URL scheme {scheme:?} (use sqlite: or postgres:)"
        )));
    };
    let path = rest.strip_prefix("//").unwrap_or(rest);
    // Connection options are agentd's to choose (see `open_sqlite`); a query
    // string would be silently taken as part of the file name.
    if path.is_empty() || path.contains('?') || path == ":memory:" {
        return Err(StoreError::Config(
            "a sqlite URL names a database file, without options".into(),
        ));
    }
    Ok(Location::Sqlite(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend() {
        assert_eq!(
            parse_url("sqlite:///var/lib/a.db").unwrap(),
            Location::Sqlite("/var/lib/a.db")
        );
        assert_eq!(
            parse_url("sqlite://data/a.db").unwrap(),
            Location::Sqlite("data/a.db")
        );
        assert_eq!(parse_url("sqlite:a.db").unwrap(), Location::Sqlite("a.db"));
        assert_eq!(parse_url("postgres://u@h/db").unwrap(), Location::Postgres);
        assert_eq!(
            parse_url("postgresql://u@h/db").unwrap(),
            Location::Postgres
        );
        for bad in [
            "mysql://u:secret@h/db",
            "sqlite:",
            "sqlite://a.db?mode=ro",
            "a.db",
        ] {
            let err = parse_url(bad).unwrap_err();
            assert!(matches!(err, StoreError::Config(_)), "{bad}");
            assert!(!err.to_string().contains("secret"));
        }
    }

    #[tokio::test]
    async fn opening_sqlite_creates_the_directory_and_pings() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("nested/agentd.db").display());
        let store = Store::connect(&url).await.unwrap();
        assert_eq!(store.backend(), Backend::Sqlite);
        store.ping().await.unwrap();
        store.close().await;
        assert!(store.ping().await.unwrap_err().is_retryable());
    }
}
