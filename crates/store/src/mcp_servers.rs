//! MCP server configurations: saved per user, and the resolved set each
//! session was started with.
//!
//! The store does not know the MCP crate's types: a saved server is a row of
//! plain columns (transport, command, args, url) plus its secret values (env
//! and header values) sealed with the credential vault's master key; the key
//! *names* are kept in clear so listings can show them without decrypting. A
//! session's servers are one sealed JSON document the engine writes and
//! reads back whole.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::convert::{RowExt, from_ms, parse_json, to_json, to_ms};
use crate::credentials::CredentialVault;
use crate::store::on_pool;
use crate::{Secret, StoreError};

/// One saved MCP server, without its secret values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct McpServerRecord {
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// `stdio` or `http`.
    pub transport: String,
    pub command: Option<String>,
    pub args: Vec<String>,
    pub url: Option<String>,
    pub env_keys: Vec<String>,
    pub header_keys: Vec<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// The secret values of a saved server. `Debug` shows the names only.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct McpServerSecrets {
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

impl fmt::Debug for McpServerSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpServerSecrets")
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn server_aad(user_id: &str, id: &str) -> Vec<u8> {
    format!("agentd-mcp-server\0{user_id}\0{id}").into_bytes()
}

fn session_aad(session_id: &str) -> Vec<u8> {
    format!("agentd-session-mcp\0{session_id}").into_bytes()
}

/// The columns `server_from_row` reads (never the sealed secrets).
macro_rules! columns {
    () => {
        "id, user_id, name, transport, command, args, url, env_keys, header_keys, created_at, \
         updated_at"
    };
}

impl CredentialVault {
    /// Saves a new server; a name the user already uses is `Conflict`.
    pub async fn insert_mcp_server(
        &self,
        record: &McpServerRecord,
        secrets: &McpServerSecrets,
    ) -> Result<(), StoreError> {
        let (nonce, sealed) = self.seal_secrets(record, secrets)?;
        let args = to_json(&record.args, "args")?;
        let env_keys = to_json(&record.env_keys, "env keys")?;
        let header_keys = to_json(&record.header_keys, "header keys")?;
        on_pool!(self.store(), |pool| {
            sqlx::query(
                "INSERT INTO mcp_servers (id, user_id, name, transport, command, args, url, \
                 env_keys, header_keys, nonce, ciphertext, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(&record.id)
            .bind(&record.user_id)
            .bind(&record.name)
            .bind(&record.transport)
            .bind(&record.command)
            .bind(&args)
            .bind(&record.url)
            .bind(&env_keys)
            .bind(&header_keys)
            .bind(&nonce)
            .bind(&sealed)
            .bind(to_ms(record.created_at))
            .bind(to_ms(record.updated_at))
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(|e| self.mcp_write_error(e, record))
    }

    /// Replaces a saved server (same id and owner); false if there is none.
    pub async fn update_mcp_server(
        &self,
        record: &McpServerRecord,
        secrets: &McpServerSecrets,
    ) -> Result<bool, StoreError> {
        let (nonce, sealed) = self.seal_secrets(record, secrets)?;
        let args = to_json(&record.args, "args")?;
        let env_keys = to_json(&record.env_keys, "env keys")?;
        let header_keys = to_json(&record.header_keys, "header keys")?;
        let n = on_pool!(self.store(), |pool| {
            sqlx::query(
                "UPDATE mcp_servers SET name = $3, transport = $4, command = $5, args = $6, \
                 url = $7, env_keys = $8, header_keys = $9, nonce = $10, ciphertext = $11, \
                 updated_at = $12 WHERE id = $1 AND user_id = $2",
            )
            .bind(&record.id)
            .bind(&record.user_id)
            .bind(&record.name)
            .bind(&record.transport)
            .bind(&record.command)
            .bind(&args)
            .bind(&record.url)
            .bind(&env_keys)
            .bind(&header_keys)
            .bind(&nonce)
            .bind(&sealed)
            .bind(to_ms(record.updated_at))
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(|e| self.mcp_write_error(e, record))?;
        Ok(n > 0)
    }

    /// The user's saved servers by name, without secrets.
    pub async fn list_mcp_servers(
        &self,
        user_id: &str,
    ) -> Result<Vec<McpServerRecord>, StoreError> {
        on_pool!(self.store(), |pool| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                columns!(),
                " FROM mcp_servers WHERE user_id = $1 ORDER BY name"
            ))
            .bind(user_id)
            .fetch_all(pool)
            .await?;
            rows.iter().map(server_from_row).collect()
        })
    }

    /// One of the user's saved servers, without secrets. Another user's
    /// server is `None`, exactly like a missing one.
    pub async fn get_mcp_server(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<Option<McpServerRecord>, StoreError> {
        on_pool!(self.store(), |pool| {
            let row = sqlx::query(concat!(
                "SELECT ",
                columns!(),
                " FROM mcp_servers WHERE user_id = $1 AND id = $2"
            ))
            .bind(user_id)
            .bind(id)
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(server_from_row).transpose()
        })
    }

    /// The secret values of one of the user's servers. A row that does not
    /// decrypt is `Corrupt`.
    pub async fn mcp_server_secrets(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<Option<McpServerSecrets>, StoreError> {
        let row: Option<(String, String)> = on_pool!(self.store(), |pool| {
            sqlx::query_as(
                "SELECT nonce, ciphertext FROM mcp_servers WHERE user_id = $1 AND id = $2",
            )
            .bind(user_id)
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        let Some((nonce, sealed)) = row else {
            return Ok(None);
        };
        let corrupt = || {
            StoreError::Corrupt(format!(
                "the secrets of MCP server {id} cannot be decrypted (was the master key changed?)"
            ))
        };
        let plain = self
            .open(&server_aad(user_id, id), &nonce, &sealed)
            .ok_or_else(corrupt)?;
        serde_json::from_slice(&plain)
            .map(Some)
            .map_err(|_| corrupt())
    }

    /// False if there was none (or it is another user's).
    pub async fn delete_mcp_server(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        let n = on_pool!(self.store(), |pool| {
            sqlx::query("DELETE FROM mcp_servers WHERE user_id = $1 AND id = $2")
                .bind(user_id)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Stores the resolved servers of a session (a JSON document the engine
    /// owns), sealed because it carries secrets.
    pub async fn put_session_mcp(
        &self,
        session_id: &str,
        document: &Secret,
    ) -> Result<(), StoreError> {
        let (nonce, sealed) = self.seal(&session_aad(session_id), document.expose().as_bytes())?;
        on_pool!(self.store(), |pool| {
            sqlx::query(
                "INSERT INTO session_mcp_servers (session_id, nonce, ciphertext) \
                 VALUES ($1, $2, $3) ON CONFLICT (session_id) DO UPDATE SET \
                 nonce = excluded.nonce, ciphertext = excluded.ciphertext",
            )
            .bind(session_id)
            .bind(&nonce)
            .bind(&sealed)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(|e| crate::write_error(e, String::new, || session_id.to_owned()))
    }

    /// The document [`put_session_mcp`](Self::put_session_mcp) stored, if any.
    pub async fn session_mcp(&self, session_id: &str) -> Result<Option<Secret>, StoreError> {
        let row: Option<(String, String)> = on_pool!(self.store(), |pool| {
            sqlx::query_as(
                "SELECT nonce, ciphertext FROM session_mcp_servers WHERE session_id = $1",
            )
            .bind(session_id)
            .fetch_optional(pool)
            .await?
        });
        let Some((nonce, sealed)) = row else {
            return Ok(None);
        };
        let corrupt = || {
            StoreError::Corrupt(format!(
                "the MCP servers of session {session_id} cannot be decrypted"
            ))
        };
        let plain = self
            .open(&session_aad(session_id), &nonce, &sealed)
            .ok_or_else(corrupt)?;
        String::from_utf8(plain)
            .map(|s| Some(Secret::new(s)))
            .map_err(|_| corrupt())
    }

    fn seal_secrets(
        &self,
        record: &McpServerRecord,
        secrets: &McpServerSecrets,
    ) -> Result<(String, String), StoreError> {
        let plain = serde_json::to_vec(secrets)
            .map_err(|e| StoreError::Invalid(format!("MCP server secrets: {e}")))?;
        self.seal(&server_aad(&record.user_id, &record.id), &plain)
    }

    fn mcp_write_error(&self, e: sqlx::Error, record: &McpServerRecord) -> StoreError {
        match crate::write_error(
            e,
            || format!("an MCP server named {:?}", record.name),
            String::new,
        ) {
            StoreError::NotFound(_) => StoreError::NotFound(format!("user {}", record.user_id)),
            other => other,
        }
    }
}

fn server_from_row(row: &impl RowExt) -> Result<McpServerRecord, StoreError> {
    let id = row.text("id")?;
    let what = || format!("MCP server {id}");
    Ok(McpServerRecord {
        user_id: row.text("user_id")?,
        name: row.text("name")?,
        transport: row.text("transport")?,
        command: row.opt_text("command")?,
        args: parse_json(&row.text("args")?, what)?,
        url: row.opt_text("url")?,
        env_keys: parse_json(&row.text("env_keys")?, what)?,
        header_keys: parse_json(&row.text("header_keys")?, what)?,
        created_at: from_ms(row.int("created_at")?, what)?,
        updated_at: from_ms(row.int("updated_at")?, what)?,
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MasterKey;
    use crate::testing::sqlite_temp;

    async fn user(store: &crate::Store, id: &str) {
        let user = crate::UserRecord {
            id: id.to_owned(),
            name: id.to_owned(),
            role: agentd_protocol::UserRole::Member,
            password_hash: None,
            disabled_at: None,
            failed_logins: 0,
            last_failed_at: None,
            locked_until: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        store.insert_user(&user).await.unwrap();
    }

    fn record(user_id: &str, id: &str, name: &str) -> McpServerRecord {
        let now = crate::truncate_to_ms(OffsetDateTime::now_utc());
        McpServerRecord {
            id: id.to_owned(),
            user_id: user_id.to_owned(),
            name: name.to_owned(),
            transport: "stdio".into(),
            command: Some("node".into()),
            args: vec!["srv.js".into()],
            url: None,
            env_keys: vec!["TOKEN".into()],
            header_keys: vec![],
            created_at: now,
            updated_at: now,
        }
    }

    #[tokio::test]
    async fn servers_are_per_user_and_secrets_stay_sealed() {
        let (store, _dir) = sqlite_temp().await;
        user(&store, "usr_a").await;
        user(&store, "usr_b").await;
        let vault = CredentialVault::new(store.clone(), MasterKey::generate());
        let secrets = McpServerSecrets {
            env: [("TOKEN".to_owned(), "s3cret-value".to_owned())].into(),
            headers: BTreeMap::new(),
        };
        let a = record("usr_a", "mcp_1", "fs");
        vault.insert_mcp_server(&a, &secrets).await.unwrap();
        let dup = vault
            .insert_mcp_server(&record("usr_a", "mcp_2", "fs"), &secrets)
            .await;
        assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
        // The same name is fine for another user.
        vault
            .insert_mcp_server(&record("usr_b", "mcp_3", "fs"), &secrets)
            .await
            .unwrap();

        assert_eq!(vault.list_mcp_servers("usr_a").await.unwrap(), vec![a]);
        assert_eq!(vault.get_mcp_server("usr_b", "mcp_1").await.unwrap(), None);
        assert_eq!(
            vault.mcp_server_secrets("usr_a", "mcp_1").await.unwrap(),
            Some(secrets.clone())
        );
        assert!(!format!("{secrets:?}").contains("s3cret"));

        // The value is not stored in clear anywhere in the row.
        let raw: Vec<(String,)> = on_pool!(store, |pool| {
            sqlx::query_as("SELECT ciphertext || env_keys || args FROM mcp_servers")
                .fetch_all(pool)
                .await
                .unwrap()
        });
        assert!(raw.iter().all(|(r,)| !r.contains("s3cret")));

        assert!(!vault.delete_mcp_server("usr_b", "mcp_1").await.unwrap());
        assert!(vault.delete_mcp_server("usr_a", "mcp_1").await.unwrap());
        assert!(vault.list_mcp_servers("usr_a").await.unwrap().is_empty());
    }
}
