//! Tenancy: which sessions a caller may reach. A member reaches only the
//! sessions they own; an admin (no owner filter) reaches all. A session that
//! exists but belongs to someone else is reported exactly like a missing one
//! (`NotFound`), so ids cannot be probed.
//!
//! Kept apart from `manager.rs` so the engine's own logic and the access
//! rules change independently.

use agentd_protocol::{SessionId, SessionList, SessionStatus, SessionView};
use agentd_store::SessionRecord;

use crate::error::CoreError;
use crate::manager::SessionManager;

/// Whose sessions a caller may reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach<'a> {
    /// Every session (admins).
    All,
    /// Only sessions whose owner is this user id (members).
    OwnedBy(&'a str),
}

impl Reach<'_> {
    fn allows(self, record: &SessionRecord) -> bool {
        match self {
            Reach::All => true,
            Reach::OwnedBy(user) => record.owner_id.as_deref() == Some(user),
        }
    }
}

/// Largest page of a session list.
const MAX_LIST: u32 = 200;

impl SessionManager {
    /// The session if `reach` covers it, else `NotFound`.
    pub async fn session_within(
        &self,
        id: SessionId,
        reach: Reach<'_>,
    ) -> Result<SessionView, CoreError> {
        let record = self.record(id).await?;
        if reach.allows(&record) {
            Ok(crate::session::view::session(&record))
        } else {
            Err(CoreError::NotFound)
        }
    }

    /// The sessions `reach` covers, newest first (see `list_sessions`).
    pub async fn list_sessions_within(
        &self,
        reach: Reach<'_>,
        status: Option<SessionStatus>,
        before: Option<SessionId>,
        limit: u32,
    ) -> Result<SessionList, CoreError> {
        let (records, next_before) = self.page_within(reach, status, before, limit).await?;
        Ok(SessionList {
            sessions: records.iter().map(crate::session::view::session).collect(),
            next_before,
        })
    }

    /// One page of the records `reach` covers, newest first, and the
    /// `before` of the next page when this one is full.
    pub(crate) async fn page_within(
        &self,
        reach: Reach<'_>,
        status: Option<SessionStatus>,
        before: Option<SessionId>,
        limit: u32,
    ) -> Result<(Vec<SessionRecord>, Option<SessionId>), CoreError> {
        let owner = match reach {
            Reach::All => None,
            Reach::OwnedBy(user) => Some(user),
        };
        let limit = limit.clamp(1, MAX_LIST);
        let records = self
            .store()
            .list_sessions_of(owner, status, before, limit)
            .await?;
        let next_before = if records.len() as u32 == limit {
            records.last().map(|r| r.id)
        } else {
            None
        };
        Ok((records, next_before))
    }
}
