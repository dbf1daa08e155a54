//! Bring your own key: a session's model calls use its owner's stored key
//! for the provider when there is one, else the server's own.

use agentd_llm::ApiKey;
use agentd_protocol::CredentialProvider;
use agentd_store::SessionRecord;

use crate::manager::Inner;

/// The owner's key for the provider of `model`; `None` means the server's.
pub(crate) async fn owner_key(inner: &Inner, record: &SessionRecord) -> Option<ApiKey> {
    let provider = if record.model.starts_with("openai:") {
        CredentialProvider::Openai
    } else {
        CredentialProvider::Anthropic
    };
    owner_secret(inner, record, provider)
        .await
        .map(|s| ApiKey::new(s.expose()))
}

/// The owner's stored secret for `provider`; `None` means the server's.
/// A secret that cannot be read is logged (never its value) and not used.
pub(crate) async fn owner_secret(
    inner: &Inner,
    record: &SessionRecord,
    provider: CredentialProvider,
) -> Option<agentd_store::Secret> {
    let vault = inner.config.credentials.as_ref()?;
    let owner = record.owner_id.as_deref()?;
    match vault.resolve(owner, provider).await {
        Ok(secret) => secret,
        Err(e) => {
            tracing::warn!(session = %record.id, error = %e, "cannot read the owner's stored key; using the server's");
            None
        }
    }
}
