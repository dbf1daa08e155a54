//! Writing the audit log. A failure to write is logged and does not fail
//! the request: the action already happened, and refusing to report it
//! would only hide it.

use std::net::IpAddr;

use agentd_store::{NewAuditEntry, Store};
use serde_json::Value;

/// Who did it.
#[derive(Clone, Debug)]
pub struct Actor {
    pub id: Option<String>,
    pub name: String,
    pub ip: Option<IpAddr>,
}

impl Actor {
    /// The `agentd admin` command line, working on the database directly.
    pub fn cli() -> Self {
        Self {
            id: None,
            name: "cli".to_owned(),
            ip: None,
        }
    }
}

/// Appends one entry. `detail` must never hold a secret.
pub async fn record(
    store: &Store,
    actor: Actor,
    action: &str,
    target: Option<String>,
    detail: Value,
) {
    let entry = NewAuditEntry {
        actor_id: actor.id,
        actor_name: actor.name,
        action: action.to_owned(),
        target,
        detail,
        ip: actor.ip.map(|ip| ip.to_string()),
    };
    if let Err(e) = store.append_audit(&entry, crate::accounts::now()).await {
        tracing::error!(error = %e, action, "cannot write the audit log");
    }
}
