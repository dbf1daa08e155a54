//! Secrets: random tokens with a recognisable prefix, their SHA-256 (all the
//! database ever sees) and argon2id password hashes.
//!
//! Tokens are 256 random bits, so a fast unsalted hash is enough to make the
//! stored value useless to a thief; passwords are low-entropy and get a slow,
//! salted argon2id hash instead.

use std::sync::OnceLock;

use agentd_store::TokenKind;
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::Rng;
use sha2::{Digest, Sha256};

/// The prefix of each kind of secret: secret scanners and people can tell
/// an agentd token (and which kind) at a glance.
pub fn prefix(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Pat => "agentd_pat_",
        TokenKind::Access => "agentd_at_",
        TokenKind::Refresh => "agentd_rt_",
        TokenKind::Ticket => "agentd_tk_",
        TokenKind::Web => "agentd_ws_",
    }
}

/// A fresh secret: the prefix and 32 random bytes in hex.
pub fn generate(kind: TokenKind) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let mut out = String::with_capacity(prefix(kind).len() + 64);
    out.push_str(prefix(kind));
    out.push_str(&hex(&bytes));
    out
}

/// Hex SHA-256 of a secret, as stored in `tokens.token_hash`.
pub fn hash_token(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// The CSRF token of a browser session: derived from the session secret
/// (a one-way hash, so the readable CSRF cookie reveals nothing of the
/// HttpOnly session cookie), and so only valid with that session.
pub fn derive_csrf(session_secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"agentd-csrf\0");
    h.update(session_secret.as_bytes());
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashError;

/// An argon2id PHC string, computed off the async runtime (it takes tens of
/// milliseconds of CPU by design).
pub async fn hash_password(password: String) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| {
                tracing::error!(error = %e, "argon2 hashing failed");
                HashError
            })
    })
    .await
    .map_err(|_| HashError)?
}

/// True when `password` matches `hash`. With no hash (unknown user, or an
/// account without a password) a dummy hash is checked anyway, so the answer
/// takes about as long either way and does not reveal which names exist.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    let known = hash.is_some();
    let result = tokio::task::spawn_blocking(move || {
        let hash = hash.unwrap_or_else(|| dummy_hash().to_owned());
        Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await;
    known && result.unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password(generate(TokenKind::Ticket).as_bytes())
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_hashed() {
        let a = generate(TokenKind::Pat);
        let b = generate(TokenKind::Pat);
        assert!(a.starts_with("agentd_pat_"));
        assert_eq!(a.len(), "agentd_pat_".len() + 64);
        assert_ne!(a, b);
        let h = hash_token(&a);
        assert_eq!(h.len(), 64);
        assert_eq!(h, hash_token(&a));
        assert!(!h.contains(&a[11..]));
    }

    #[tokio::test]
    async fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), Some(hash.clone())).await);
        assert!(!verify_password("wrong horse battery".into(), Some(hash)).await);
        assert!(!verify_password("anything".into(), None).await);
    }
}
