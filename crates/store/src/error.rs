//! The store's error type. Each variant tells the caller what to do; the
//! driver's own error (which may quote the database's message) is kept as the
//! `source` for logs and never appears in `Display`.

use sqlx::error::{DatabaseError, ErrorKind};
use sqlx::sqlite::SqliteError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record (usually a session) does not exist. Maps to 404.
    #[error("{0} not found")]
    NotFound(String),

    /// The write collides with stored data (duplicate id or event `seq`).
    /// Nothing of the failed call was written.
    #[error("{0} already exists")]
    Conflict(String),

    /// The database cannot be reached, the pool is exhausted or closed.
    /// Retryable: nothing was written, or the transaction was rolled back.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),

    /// A stored row cannot be read back into our types (bad enum string, bad
    /// JSON, out-of-range number). Not retryable; needs an operator.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),

    /// Applying the embedded migrations failed; the server must not start.
    #[error("database migration failed")]
    Migration(#[source] Box<sqlx::migrate::MigrateError>),

    /// A value the schema cannot represent (e.g. a `seq` above `i64::MAX`).
    #[error("invalid value: {0}")]
    Invalid(String),

    /// The database location is unusable (unknown URL scheme, data directory
    /// that cannot be created).
    #[error("database configuration: {0}")]
    Config(String),

    /// Any other database error: a bug or a schema mismatch. Not retryable.
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl StoreError {
    /// True when trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::NotFound(_)
            | Self::Conflict(_)
            | Self::Corrupt(_)
            | Self::Migration(_)
            | Self::Invalid(_)
            | Self::Config(_)
            | Self::Database(_) => false,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    /// The generic mapping. Call sites that can hit a constraint use
    /// [`write_error`] instead to name what collided.
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => {
                tracing::warn!(error = %err, "database unavailable");
                Self::Unavailable(err)
            }
            sqlx::Error::Database(db) if is_busy(db.as_ref()) => {
                tracing::warn!(error = %err, "database busy");
                Self::Unavailable(err)
            }
            sqlx::Error::Migrate(_) => {
                tracing::error!(error = %err, "database migration failed");
                match err {
                    sqlx::Error::Migrate(m) => Self::Migration(m),
                    other => Self::Database(other),
                }
            }
            _ => {
                tracing::error!(error = %err, "database error");
                Self::Database(err)
            }
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        tracing::error!(error = %err, "database migration failed");
        Self::Migration(Box::new(err))
    }
}

/// Errors that mean "try again": SQLite's BUSY/LOCKED once the busy timeout
/// has passed, PostgreSQL's serialization failure, deadlock, too many
/// connections and "starting up".
fn is_busy(db: &dyn DatabaseError) -> bool {
    let Some(code) = db.code() else { return false };
    if db.try_downcast_ref::<SqliteError>().is_some() {
        sqlite_busy(&code)
    } else {
        matches!(&*code, "40001" | "40P01" | "53300" | "57P03")
    }
}

/// SQLite reports numeric (possibly extended) codes; the low byte is the
/// primary code: 5 = SQLITE_BUSY, 6 = SQLITE_LOCKED.
fn sqlite_busy(code: &str) -> bool {
    code.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
}

/// Maps an error from a write: a unique violation becomes `Conflict(subject)`,
/// a foreign-key violation (every foreign key points at a session) becomes
/// `NotFound("session …")`.
pub(crate) fn write_error(
    err: sqlx::Error,
    subject: impl FnOnce() -> String,
    session: impl FnOnce() -> String,
) -> StoreError {
    if let sqlx::Error::Database(db) = &err {
        match db.kind() {
            ErrorKind::UniqueViolation => return StoreError::Conflict(subject()),
            ErrorKind::ForeignKeyViolation => {
                return StoreError::NotFound(format!("session {}", session()));
            }
            // `ErrorKind` is sqlx's and non-exhaustive; the rest is generic.
            _ => {}
        }
    }
    StoreError::from(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_busy_codes_are_recognised() {
        assert!(sqlite_busy("5")); // SQLITE_BUSY
        assert!(sqlite_busy("517")); // SQLITE_BUSY_SNAPSHOT
        assert!(sqlite_busy("262")); // SQLITE_LOCKED_SHAREDCACHE
        assert!(!sqlite_busy("19")); // SQLITE_CONSTRAINT
        assert!(!sqlite_busy("2067")); // SQLITE_CONSTRAINT_UNIQUE
    }

    #[test]
    fn display_never_includes_the_driver_message() {
        let err = StoreError::from(sqlx::Error::Protocol("SELECT secret FROM t".into()));
        assert_eq!(err.to_string(), "database error");
        assert!(!err.is_retryable());
        assert!(StoreError::from(sqlx::Error::PoolTimedOut).is_retryable());
    }
}
