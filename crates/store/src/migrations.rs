//! The embedded migrations, one numbered folder per backend
//! (`migrations/sqlite`, `migrations/postgres`).
//!
//! Why not `sqlx::migrate!`: that macro needs sqlx's `macros` feature, which
//! builds the proc-macro stack and a second copy of the SQLite and PostgreSQL
//! drivers for the host. The list below is what the macro would generate
//! (same versions, descriptions and checksums, so switching later is
//! seamless), and a test fails when a file in the folders is missing here.
//! Never edit an applied migration; add the next number.

use std::borrow::Cow;

use sqlx::SqlStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// `(version, description, sql)`; the description is the file name after the
/// version, as `sqlx::migrate!` derives it.
type Embedded = (i64, &'static str, &'static str);

const SQLITE: &[Embedded] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "auth",
        include_str!("../migrations/sqlite/0002_auth.sql"),
    ),
    (
        3,
        "web credentials",
        include_str!("../migrations/sqlite/0003_web_credentials.sql"),
    ),
    (
        4,
        "quotas",
        include_str!("../migrations/sqlite/0004_quotas.sql"),
    ),
    (
        5,
        "github webhooks",
        include_str!("../migrations/sqlite/0005_github_webhooks.sql"),
    ),
    (
        6,
        "shares",
        include_str!("../migrations/sqlite/0006_shares.sql"),
    ),
    (
        7,
        "user settings",
        include_str!("../migrations/sqlite/0007_user_settings.sql"),
    ),
    (
        8,
        "mcp servers",
        include_str!("../migrations/sqlite/0008_mcp_servers.sql"),
    ),
    (
        9,
        "idempotency",
        include_str!("../migrations/sqlite/0009_idempotency.sql"),
    ),
];

const POSTGRES: &[Embedded] = &[
    (
        1,
        "init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "auth",
        include_str!("../migrations/postgres/0002_auth.sql"),
    ),
    (
        3,
        "web credentials",
        include_str!("../migrations/postgres/0003_web_credentials.sql"),
    ),
    (
        4,
        "quotas",
        include_str!("../migrations/postgres/0004_quotas.sql"),
    ),
    (
        5,
        "github webhooks",
        include_str!("../migrations/postgres/0005_github_webhooks.sql"),
    ),
    (
        6,
        "shares",
        include_str!("../migrations/postgres/0006_shares.sql"),
    ),
    (
        7,
        "user settings",
        include_str!("../migrations/postgres/0007_user_settings.sql"),
    ),
    (
        8,
        "mcp servers",
        include_str!("../migrations/postgres/0008_mcp_servers.sql"),
    ),
    (
        9,
        "idempotency",
        include_str!("../migrations/postgres/0009_idempotency.sql"),
    ),
];

pub(crate) fn sqlite() -> Migrator {
    migrator(SQLITE)
}

pub(crate) fn postgres() -> Migrator {
    migrator(POSTGRES)
}

fn migrator(embedded: &'static [Embedded]) -> Migrator {
    Migrator::with_migrations(
        embedded
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    SqlStr::from_static(sql),
                    false,
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `NNNN_name.sql` file on disk is embedded, with the same content.
    fn assert_folder_matches(folder: &str, embedded: &[Embedded]) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(folder);
        let mut on_disk: Vec<(i64, String, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| {
                let path = entry.unwrap().path();
                let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
                let (version, name) = stem.split_once('_').unwrap();
                let sql = std::fs::read_to_string(&path).unwrap();
                (version.parse().unwrap(), name.replace('_', " "), sql)
            })
            .collect();
        on_disk.sort();
        let embedded: Vec<(i64, String, String)> = embedded
            .iter()
            .map(|&(v, d, s)| (v, d.to_owned(), s.to_owned()))
            .collect();
        assert_eq!(
            on_disk, embedded,
            "migrations/{folder} and the embedded list differ"
        );
    }

    #[test]
    fn every_migration_file_is_embedded() {
        assert_folder_matches("sqlite", SQLITE);
        assert_folder_matches("postgres", POSTGRES);
    }

    #[test]
    fn both_backends_have_the_same_versions() {
        let versions = |e: &[Embedded]| e.iter().map(|m| (m.0, m.1)).collect::<Vec<_>>();
        assert_eq!(versions(SQLITE), versions(POSTGRES));
    }
}
