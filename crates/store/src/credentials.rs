//! Per-user credentials ("bring your own key"): model API keys and GitHub
//! tokens, encrypted with AES-256-GCM under the server's master key before
//! they reach the database.
//!
//! Each secret gets a fresh random 96-bit nonce; the associated data is the
//! user id and provider, so a ciphertext moved to another row (by someone
//! with write access to the database) fails to decrypt instead of handing one
//! user's key to another. The master key never touches the database: it comes
//! from `AGENTD_MASTER_KEY` or a 0600 key file in the data directory.

use std::fmt;
use std::path::Path;

use aes_gcm::aead::{Aead, Generate, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use agentd_protocol::{CredentialProvider, CredentialView};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use time::OffsetDateTime;

use crate::convert::{RowExt, from_ms, parse_enum, to_ms};
use crate::store::on_pool;
use crate::{Store, StoreError};

/// Length of the master key in bytes (AES-256).
pub const MASTER_KEY_BYTES: usize = 32;

/// The server's key for credentials at rest. `Debug` never shows it.
#[derive(Clone)]
pub struct MasterKey(Key<Aes256Gcm>);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("the master key is not base64 of {MASTER_KEY_BYTES} bytes")]
    Malformed,
    #[error("cannot use the master key file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self(Key::<Aes256Gcm>::generate())
    }

    /// From base64 of exactly 32 bytes (`AGENTD_MASTER_KEY`, the key file).
    pub fn from_base64(text: &str) -> Result<Self, MasterKeyError> {
        let bytes = B64
            .decode(text.trim())
            .map_err(|_| MasterKeyError::Malformed)?;
        let key =
            Key::<Aes256Gcm>::try_from(bytes.as_slice()).map_err(|_| MasterKeyError::Malformed)?;
        Ok(Self(key))
    }

    pub fn to_base64(&self) -> String {
        B64.encode(self.0.as_slice())
    }

    /// Reads the key file at `path`, or creates it with a fresh key (mode
    /// 0600, refusing to overwrite a file that appeared meanwhile).
    pub fn load_or_create(path: &Path) -> Result<Self, MasterKeyError> {
        let io = |source| MasterKeyError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => return Self::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let key = Self::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                use std::io::Write;
                file.write_all(format!("{}\n", key.to_base64()).as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(io)?;
                Ok(key)
            }
            // Another replica sharing the data dir won the race: use its key.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                std::fs::read_to_string(path)
                    .map_err(io)
                    .and_then(|t| Self::from_base64(&t))
            }
            Err(e) => Err(io(e)),
        }
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.0)
    }
}

/// A decrypted secret. `Debug` and `Display` hide it; read it with
/// [`expose`](Self::expose) at the one place it is sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `…abcd`: the last four characters, to recognise a key by.
    pub fn hint(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
        format!("…{tail}")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Encrypts and decrypts credentials for the store; the engine holds one to
/// fetch a user's own key when it starts their turn.
#[derive(Clone, Debug)]
pub struct CredentialVault {
    store: Store,
    key: MasterKey,
}

fn associated_data(user_id: &str, provider: CredentialProvider) -> Vec<u8> {
    // The separator cannot occur in a user id or provider name.
    format!("agentd-credential\0{user_id}\0{}", provider.as_str()).into_bytes()
}

impl CredentialVault {
    pub fn new(store: Store, key: MasterKey) -> Self {
        Self { store, key }
    }

    /// Stores (or replaces) the user's secret for `provider`.
    pub async fn put(
        &self,
        user_id: &str,
        provider: CredentialProvider,
        secret: &Secret,
        now: OffsetDateTime,
    ) -> Result<CredentialView, StoreError> {
        let nonce = Nonce::generate();
        let aad = associated_data(user_id, provider);
        let sealed = self
            .key
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.expose().as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::Invalid("the credential cannot be encrypted".into()))?;
        let hint = secret.hint();
        on_pool!(self.store, |pool| {
            sqlx::query(
                "INSERT INTO user_credentials (user_id, provider, nonce, ciphertext, hint, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (user_id, provider) DO UPDATE SET nonce = excluded.nonce, \
                 ciphertext = excluded.ciphertext, hint = excluded.hint, \
                 updated_at = excluded.updated_at",
            )
            .bind(user_id)
            .bind(provider.as_str())
            .bind(B64.encode(nonce.as_slice()))
            .bind(B64.encode(&sealed))
            .bind(&hint)
            .bind(to_ms(now))
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(|e| match crate::write_error(e, String::new, String::new) {
            StoreError::NotFound(_) => StoreError::NotFound(format!("user {user_id}")),
            other => other,
        })?;
        Ok(CredentialView {
            provider,
            hint,
            updated_at: now,
        })
    }

    /// The user's credentials, by provider; never the secrets.
    pub async fn list(&self, user_id: &str) -> Result<Vec<CredentialView>, StoreError> {
        on_pool!(self.store, |pool| {
            let rows = sqlx::query(
                "SELECT provider, hint, updated_at FROM user_credentials \
                 WHERE user_id = $1 ORDER BY provider",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    let what = || format!("credential of user {user_id}");
                    Ok(CredentialView {
                        provider: parse_enum(&row.text("provider")?, what)?,
                        hint: row.text("hint")?,
                        updated_at: from_ms(row.int("updated_at")?, what)?,
                    })
                })
                .collect()
        })
    }

    /// False if there was none.
    pub async fn delete(
        &self,
        user_id: &str,
        provider: CredentialProvider,
    ) -> Result<bool, StoreError> {
        let n = on_pool!(self.store, |pool| {
            sqlx::query("DELETE FROM user_credentials WHERE user_id = $1 AND provider = $2")
                .bind(user_id)
                .bind(provider.as_str())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Encrypts `msg` bound to `aad`: `(nonce, ciphertext)`, both base64.
    /// For other per-user secrets than provider keys (settings documents).
    pub(crate) fn seal(&self, aad: &[u8], msg: &[u8]) -> Result<(String, String), StoreError> {
        let nonce = Nonce::generate();
        let sealed = self
            .key
            .cipher()
            .encrypt(&nonce, Payload { msg, aad })
            .map_err(|_| StoreError::Invalid("the secret cannot be encrypted".into()))?;
        Ok((B64.encode(nonce.as_slice()), B64.encode(&sealed)))
    }

    /// The inverse of [`seal`](Self::seal); `None` when it does not decrypt.
    pub(crate) fn open(&self, aad: &[u8], nonce: &str, sealed: &str) -> Option<Vec<u8>> {
        let nonce = B64.decode(nonce).ok()?;
        let nonce = Nonce::try_from(nonce.as_slice()).ok()?;
        let sealed = B64.decode(sealed).ok()?;
        self.key
            .cipher()
            .decrypt(&nonce, Payload { msg: &sealed, aad })
            .ok()
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// The user's own secret for `provider`, decrypted. A row that does not
    /// decrypt (another master key, or tampering) is `Corrupt`.
    pub async fn resolve(
        &self,
        user_id: &str,
        provider: CredentialProvider,
    ) -> Result<Option<Secret>, StoreError> {
        let row: Option<(String, String)> = on_pool!(self.store, |pool| {
            sqlx::query_as(
                "SELECT nonce, ciphertext FROM user_credentials \
                 WHERE user_id = $1 AND provider = $2",
            )
            .bind(user_id)
            .bind(provider.as_str())
            .fetch_optional(pool)
            .await?
        });
        let Some((nonce, sealed)) = row else {
            return Ok(None);
        };
        let corrupt = || {
            StoreError::Corrupt(format!(
                "the {provider} credential of user {user_id} cannot be decrypted \
                 (was the master key changed?)"
            ))
        };
        let nonce = B64.decode(nonce).map_err(|_| corrupt())?;
        let nonce = Nonce::try_from(nonce.as_slice()).map_err(|_| corrupt())?;
        let sealed = B64.decode(sealed).map_err(|_| corrupt())?;
        let aad = associated_data(user_id, provider);
        let plain = self
            .key
            .cipher()
            .decrypt(
                &nonce,
                Payload {
                    msg: &sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| corrupt())?;
        String::from_utf8(plain)
            .map(|s| Some(Secret(s)))
            .map_err(|_| corrupt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sqlite_temp;

    async fn insert_user(store: &Store, id: &str) {
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

    #[test]
    fn keys_parse_and_hide() {
        let key = MasterKey::generate();
        let again = MasterKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(again.0, key.0);
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(MasterKey::from_base64("not base64!").is_err());
        assert_eq!(format!("{key:?}"), "MasterKey(…)");
        assert_eq!(format!("{:?}", Secret::new("sk-1")), "Secret(…)");
        assert_eq!(Secret::new("sk-ant-abcd1234").hint(), "…1234");
        assert_eq!(Secret::new("ab").hint(), "…ab");
    }

    #[test]
    fn the_key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/master.key");
        let first = MasterKey::load_or_create(&path).unwrap();
        let second = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(first.0, second.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[tokio::test]
    async fn secrets_round_trip_encrypted_and_bound_to_their_row() {
        let (store, _dir) = sqlite_temp().await;
        for id in ["usr_a", "usr_b"] {
            insert_user(&store, id).await;
        }
        let vault = CredentialVault::new(store.clone(), MasterKey::generate());
        let now = crate::truncate_to_ms(OffsetDateTime::now_utc());
        let secret = Secret::new("sk-ant-api03-very-secret-9876");
        let view = vault
            .put("usr_a", CredentialProvider::Anthropic, &secret, now)
            .await
            .unwrap();
        assert_eq!(view.hint, "…9876");
        assert_eq!(vault.list("usr_a").await.unwrap(), vec![view]);
        assert!(vault.list("usr_b").await.unwrap().is_empty());
        let got = vault
            .resolve("usr_a", CredentialProvider::Anthropic)
            .await
            .unwrap();
        assert_eq!(got, Some(secret.clone()));
        assert_eq!(
            vault
                .resolve("usr_a", CredentialProvider::Openai)
                .await
                .unwrap(),
            None
        );

        // A ciphertext copied to another user's row does not decrypt.
        on_pool!(store, |pool| {
            sqlx::query(
                "INSERT INTO user_credentials SELECT 'usr_b', provider, nonce, ciphertext, \
                 hint, updated_at FROM user_credentials WHERE user_id = 'usr_a'",
            )
            .execute(pool)
            .await
            .map(|_| ())
            .unwrap();
        });
        let stolen = vault.resolve("usr_b", CredentialProvider::Anthropic).await;
        assert!(matches!(stolen, Err(StoreError::Corrupt(_))), "{stolen:?}");

        // Another master key cannot read it either.
        let other = CredentialVault::new(store, MasterKey::generate());
        assert!(
            other
                .resolve("usr_a", CredentialProvider::Anthropic)
                .await
                .is_err()
        );

        assert!(
            vault
                .delete("usr_a", CredentialProvider::Anthropic)
                .await
                .unwrap()
        );
        assert!(
            !vault
                .delete("usr_a", CredentialProvider::Anthropic)
                .await
                .unwrap()
        );
    }
}
