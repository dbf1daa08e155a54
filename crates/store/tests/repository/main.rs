//! One repository test suite, run against SQLite and PostgreSQL alike.
//!
//! Each case is an `async fn(&Store)`; `for_both_backends!` turns it into a
//! `sqlite::case` and a `postgres::case` test, each on a fresh database.
#![expect(
    clippy::unwrap_used,
    reason = "the cases are test code but not #[test] fns; a failure should panic"
)]

mod accounts;
mod events;
mod fixtures;
mod github;
mod idempotency;
mod inputs;
mod reopen;
mod sessions;
mod transcript;

macro_rules! for_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let (store, _dir) = agentd_store::testing::sqlite_temp().await;
                    assert_eq!(store.backend(), agentd_store::Backend::Sqlite);
                    super::$case(&store).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let (store, guard) = agentd_store::testing::postgres_isolated()
                        .await
                        .expect("a PostgreSQL test database (see AGENTD_TEST_POSTGRES_URL)");
                    assert_eq!(store.backend(), agentd_store::Backend::Postgres);
                    super::$case(&store).await;
                    store.close().await;
                    guard.cleanup().await;
                }
            )*
        }
    };
}
pub(crate) use for_both_backends;
