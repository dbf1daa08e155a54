//! What every handler can reach.

use std::sync::Arc;

use agentd_core::SessionManager;
use agentd_store::{CredentialVault, MasterKey};

use crate::auth::{AuthConfig, AuthState};
use crate::cpu::{CpuPool, DEFAULT_RENDER_BUDGET};
use crate::metrics::Metrics;
use agentd_core::GitHubWebhooks;

#[derive(Clone)]
pub struct AppState {
    pub manager: SessionManager,
    pub metrics: Arc<Metrics>,
    pub auth: Arc<AuthState>,
    /// Per-user credentials, encrypted under the master key; `None` when the
    /// server was started without one (the credential routes then answer
    /// 503).
    pub vault: Option<CredentialVault>,
    /// Largest file accepted by `PUT …/files/content`.
    pub max_upload_bytes: u64,
    /// GitHub webhooks; `None` (no secret configured) turns the route off.
    pub webhooks: Option<Arc<GitHubWebhooks>>,
    /// Where rendering runs: blocking threads, one job per core, a budget.
    pub(crate) cpu: Arc<CpuPool>,
    /// Cancelled when the server shuts down: event streams (SSE and
    /// WebSocket) end, so clients reconnect to the next server instead of
    /// holding this one open.
    pub closing: tokio_util::sync::CancellationToken,
}

/// The default upload limit: 25 MiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 25 * 1024 * 1024;

impl AppState {
    /// Appends to the audit log as `actor` (see `agentd_accounts::audit`);
    /// `detail` must never hold a secret.
    pub(crate) async fn audit(
        &self,
        actor: crate::auth::audit::Actor,
        action: &str,
        target: Option<String>,
        detail: serde_json::Value,
    ) {
        crate::auth::audit::record(self.manager.store(), actor, action, target, detail).await;
    }

    pub fn new(manager: SessionManager) -> Self {
        Self::with_auth(manager, AuthConfig::default())
    }

    pub fn with_auth(manager: SessionManager, auth: AuthConfig) -> Self {
        Self {
            manager,
            metrics: Arc::new(Metrics::new()),
            auth: Arc::new(AuthState::new(auth)),
            vault: None,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            webhooks: None,
            cpu: Arc::new(CpuPool::new(DEFAULT_RENDER_BUDGET)),
            closing: tokio_util::sync::CancellationToken::new(),
        }
    }

    /// How long one Markdown or diff render may take (default 2 s).
    pub fn with_render_budget(mut self, budget: std::time::Duration) -> Self {
        self.cpu = Arc::new(CpuPool::new(budget));
        self
    }

    /// Accepts uploads up to `bytes`.
    pub fn with_max_upload_bytes(mut self, bytes: u64) -> Self {
        self.max_upload_bytes = bytes;
        self
    }

    /// Stores per-user credentials encrypted under `key`.
    pub fn with_master_key(mut self, key: MasterKey) -> Self {
        self.vault = Some(CredentialVault::new(self.manager.store().clone(), key));
        self
    }

    /// Turns on `POST /api/v1/webhooks/github`.
    pub fn with_github_webhooks(mut self, webhooks: GitHubWebhooks) -> Self {
        self.webhooks = Some(Arc::new(webhooks));
        self
    }
}
