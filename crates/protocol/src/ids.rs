//! Identifiers. Sessions use UUIDv7 so ids sort by creation time.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A session id (UUIDv7, hyphenated).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(Uuid);

impl SessionId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// The last 12 hex characters (random bits; the leading ones are a
    /// timestamp shared by sessions created in the same minute), for logs
    /// and branch names.
    pub fn short(&self) -> String {
        let hex = self.0.simple().to_string();
        hex[hex.len() - 12..].to_owned()
    }
}

impl Default for SessionId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for SessionId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

impl utoipa::ToSchema for SessionId {}
impl utoipa::PartialSchema for SessionId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        String::schema()
    }
}

/// A fresh random id with a readable prefix (`msg_…`, `call_…`, `in_…`).
pub fn prefixed_id(prefix: &str) -> String {
    format!("{prefix}_{}", Uuid::now_v7().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_round_trip_and_sort_by_time() {
        let a = SessionId::new();
        let b = SessionId::new();
        assert!(a < b);
        let parsed: SessionId = a.to_string().parse().unwrap();
        assert_eq!(parsed, a);
        assert_eq!(a.short().len(), 12);
        assert_ne!(
            a.short(),
            b.short(),
            "ids created together differ in their short form"
        );
        assert!("not-a-uuid".parse::<SessionId>().is_err());
    }
}
