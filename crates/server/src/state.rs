//! What every handler can reach.

use std::sync::Arc;

use agentd_core::SessionManager;

use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub manager: SessionManager,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(manager: SessionManager) -> Self {
        Self {
            manager,
            metrics: Arc::new(Metrics::new()),
        }
    }
}
