//! Each user's own Claude Code settings document (`user_settings`), sealed
//! under the master key when the server has one: hook commands and HTTP hook
//! headers can carry secrets.

use time::OffsetDateTime;

use crate::convert::{from_ms, to_ms};
use crate::store::on_pool;
use crate::{CredentialVault, Store, StoreError};

/// A stored settings document, decrypted.
#[derive(Clone, Debug, PartialEq)]
pub struct UserSettingsRecord {
    /// The document as the user gave it (JSON text).
    pub document: String,
    /// Whether it is encrypted at rest.
    pub sealed: bool,
    pub updated_at: OffsetDateTime,
}

fn associated_data(user_id: &str) -> Vec<u8> {
    // The separator cannot occur in a user id.
    format!("agentd-user-settings\0{user_id}").into_bytes()
}

impl Store {
    /// Stores (or replaces) the user's document, sealed when `vault` is given.
    pub async fn put_user_settings(
        &self,
        vault: Option<&CredentialVault>,
        user_id: &str,
        document: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (nonce, stored) = match vault {
            Some(vault) => {
                let (nonce, sealed) = vault.seal(&associated_data(user_id), document.as_bytes())?;
                (Some(nonce), sealed)
            }
            None => (None, document.to_owned()),
        };
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO user_settings (user_id, nonce, document, updated_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE SET \
                 nonce = excluded.nonce, document = excluded.document, \
                 updated_at = excluded.updated_at",
            )
            .bind(user_id)
            .bind(nonce)
            .bind(stored)
            .bind(to_ms(now))
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(|e| match crate::write_error(e, String::new, String::new) {
            StoreError::NotFound(_) => StoreError::NotFound(format!("user {user_id}")),
            other => other,
        })
    }

    /// The user's document; `Ok(None)` when they stored none. A sealed row
    /// without the key that sealed it is `Corrupt`.
    pub async fn user_settings(
        &self,
        vault: Option<&CredentialVault>,
        user_id: &str,
    ) -> Result<Option<UserSettingsRecord>, StoreError> {
        let row: Option<(Option<String>, String, i64)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT nonce, document, updated_at FROM user_settings WHERE user_id = $1",
            )
            .bind(user_id)
            .fetch_optional(pool)
            .await?
        });
        let Some((nonce, stored, updated_at)) = row else {
            return Ok(None);
        };
        let what = || format!("settings of user {user_id}");
        let corrupt = || {
            StoreError::Corrupt(format!(
                "the settings of user {user_id} cannot be decrypted (was the master key changed?)"
            ))
        };
        let sealed = nonce.is_some();
        let document = match (nonce, vault) {
            (None, _) => stored,
            (Some(nonce), Some(vault)) => {
                let plain = vault
                    .open(&associated_data(user_id), &nonce, &stored)
                    .ok_or_else(corrupt)?;
                String::from_utf8(plain).map_err(|_| corrupt())?
            }
            (Some(_), None) => return Err(corrupt()),
        };
        Ok(Some(UserSettingsRecord {
            document,
            sealed,
            updated_at: from_ms(updated_at, what)?,
        }))
    }

    /// False if there was none.
    pub async fn delete_user_settings(&self, user_id: &str) -> Result<bool, StoreError> {
        let n = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM user_settings WHERE user_id = $1")
                .bind(user_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }
}

impl CredentialVault {
    /// Seals a settings document kept elsewhere (a session's), bound to
    /// `scope` (the session id): `nonce.ciphertext`, base64.
    pub fn seal_text(&self, scope: &str, text: &str) -> Result<String, StoreError> {
        let (nonce, sealed) = self.seal(&scope_data(scope), text.as_bytes())?;
        Ok(format!("{nonce}.{sealed}"))
    }

    /// The inverse of [`seal_text`](Self::seal_text); `None` if it does not open.
    pub fn open_text(&self, scope: &str, sealed: &str) -> Option<String> {
        let (nonce, sealed) = sealed.split_once('.')?;
        let plain = self.open(&scope_data(scope), nonce, sealed)?;
        String::from_utf8(plain).ok()
    }
}

fn scope_data(scope: &str) -> Vec<u8> {
    format!("agentd-settings\0{scope}").into_bytes()
}
