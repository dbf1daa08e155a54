//! What every handler can reach.

use std::sync::Arc;

use agentd_core::SessionManager;

use crate::auth::{AuthConfig, AuthState};
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub manager: SessionManager,
    pub metrics: Arc<Metrics>,
    pub auth: Arc<AuthState>,
}

impl AppState {
    pub fn new(manager: SessionManager) -> Self {
        Self::with_auth(manager, AuthConfig::default())
    }

    pub fn with_auth(manager: SessionManager, auth: AuthConfig) -> Self {
        Self {
            manager,
            metrics: Arc::new(Metrics::new()),
            auth: Arc::new(AuthState::new(auth)),
        }
    }
}
