//! One server per database: the process that runs sessions holds an
//! exclusive lock for as long as it lives, so a second one cannot recover
//! (mark interrupted, re-run) turns the first is still running.
//!
//! SQLite: `flock` on a file beside the database (released by the kernel
//! when the process dies, even by `kill -9`; independent of the `fcntl`
//! locks SQLite itself uses). PostgreSQL: a session-level advisory lock on
//! a connection taken out of the pool (released when that connection ends,
//! which a dead process's does at once).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;

use sqlx::Connection;

use crate::store::Pool;
use crate::{Store, StoreError};

/// The advisory lock key: "agentd" in ASCII, so it is recognisable in
/// `pg_locks` and unlikely to collide with an application's own keys.
const PG_LOCK_KEY: i64 = 0x0000_6167_656e_7464;

/// Held while the process owns the database; dropping it releases the lock.
#[derive(Debug)]
pub struct OwnerLock {
    _held: Held,
}

#[derive(Debug)]
#[expect(dead_code, reason = "held for what dropping them releases")]
enum Held {
    File(File),
    Postgres(sqlx::PgConnection),
}

impl Store {
    /// Takes the database for this process. `Conflict` (naming what is
    /// locked) when another process holds it.
    pub async fn lock_owner(&self) -> Result<OwnerLock, StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                let options = pool.connect_options();
                let mut path = PathBuf::from(options.get_filename());
                let mut name = path.file_name().unwrap_or_default().to_os_string();
                name.push(".owner.lock");
                path.set_file_name(name);
                let file = OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .map_err(|e| {
                        StoreError::Config(format!("cannot open {}: {e}", path.display()))
                    })?;
                match file.try_lock() {
                    Ok(()) => Ok(OwnerLock {
                        _held: Held::File(file),
                    }),
                    Err(TryLockError::WouldBlock) => Err(StoreError::Conflict(format!(
                        "the database beside {} is in use by another agentd process",
                        path.display()
                    ))),
                    Err(TryLockError::Error(e)) => Err(StoreError::Config(format!(
                        "cannot lock {}: {e}",
                        path.display()
                    ))),
                }
            }
            Pool::Postgres(pool) => {
                let mut conn = pool.acquire().await?.detach();
                let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(PG_LOCK_KEY)
                    .fetch_one(&mut conn)
                    .await?;
                if !locked {
                    let _ = conn.close().await;
                    return Err(StoreError::Conflict(
                        "the PostgreSQL database is in use by another agentd process".into(),
                    ));
                }
                Ok(OwnerLock {
                    _held: Held::Postgres(conn),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_owner_of_a_sqlite_database_is_refused_until_the_first_lets_go() {
        let (store, _dir) = crate::testing::sqlite_temp().await;
        let first = store.lock_owner().await.expect("first owner");
        let err = store.lock_owner().await.expect_err("second owner");
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("another agentd process")),
            "{err:?}"
        );
        drop(first);
        store.lock_owner().await.expect("free again");
    }

    #[tokio::test]
    async fn a_second_owner_of_a_postgres_database_is_refused_until_the_first_lets_go() {
        let (store, guard) = crate::testing::postgres_isolated().await.expect("postgres");
        let other = Store::open_postgres(guard.url())
            .await
            .expect("second pool");
        let first = store.lock_owner().await.expect("first owner");
        let err = other.lock_owner().await.expect_err("second owner");
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("another agentd process")),
            "{err:?}"
        );
        drop(first);
        // The lock goes with its connection; closing is asynchronous.
        let mut again = None;
        for _ in 0..50 {
            if let Ok(lock) = other.lock_owner().await {
                again = Some(lock);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(again.is_some(), "the lock was released with its owner");
        drop(again);
        store.close().await;
        other.close().await;
        guard.cleanup().await;
    }
}
