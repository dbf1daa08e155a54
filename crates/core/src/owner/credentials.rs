//! Bring your own key: a session's model calls (and a task's pushes and
//! pull requests) use its owner's stored secret for the provider when there
//! is one, else the server's own.

use agentd_protocol::CredentialProvider;
use agentd_store::{CredentialVault, Secret, SessionRecord};

/// The owner's stored secret for `provider`; `None` means the server's.
/// A secret that cannot be read is logged (never its value) and not used.
pub(crate) async fn owner_secret(
    vault: &CredentialVault,
    record: &SessionRecord,
    provider: CredentialProvider,
) -> Option<Secret> {
    let owner = record.owner_id.as_deref()?;
    match vault.resolve(owner, provider).await {
        Ok(secret) => secret,
        Err(e) => {
            tracing::warn!(session = %record.id, error = %e, "cannot read the owner's stored key; using the server's");
            None
        }
    }
}
