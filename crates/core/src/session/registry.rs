//! The sessions with in-memory state, by id. A session gets its
//! `LiveSession` on first use and loses it when it is deleted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use agentd_protocol::SessionId;

use crate::session::live::LiveSession;

#[derive(Default)]
pub(crate) struct SessionRegistry {
    live: Mutex<HashMap<SessionId, Arc<LiveSession>>>,
}

impl SessionRegistry {
    /// The session's live state, made on first use.
    pub(crate) fn get(&self, id: SessionId) -> Arc<LiveSession> {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(id)
            .or_insert_with(|| Arc::new(LiveSession::new(id)))
            .clone()
    }

    /// Every session with live state, at this moment.
    pub(crate) fn all(&self) -> Vec<Arc<LiveSession>> {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    pub(crate) fn remove(&self, id: SessionId) {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }
}
