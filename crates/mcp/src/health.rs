//! A one-shot "does this server work?" for settings pages and `agentd doctor`.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::config::McpServerConfig;
use crate::connection::{McpConnection, McpTimeouts};

/// What [`check`] found. `error` is the message of the first failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReport {
    pub ok: bool,
    pub server_name: Option<String>,
    pub server_version: Option<String>,
    /// Original tool names, in the server's order.
    pub tools: Vec<String>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// Connects, lists the tools and disconnects, each step within `timeouts`.
/// Never fails: a broken server is a report with `ok: false`.
pub async fn check(config: &McpServerConfig, timeouts: &McpTimeouts) -> HealthReport {
    let started = Instant::now();
    let mut report = HealthReport {
        ok: false,
        server_name: None,
        server_version: None,
        tools: Vec::new(),
        error: None,
        duration_ms: 0,
    };
    match McpConnection::connect(config, timeouts).await {
        Ok(connection) => {
            if let Some(identity) = connection.identity() {
                report.server_name = Some(identity.name.clone());
                report.server_version = Some(identity.version.clone());
            }
            match connection.list_tools().await {
                Ok(tools) => {
                    report.ok = true;
                    report.tools = tools.into_iter().map(|tool| tool.name).collect();
                }
                Err(error) => report.error = Some(error.to_string()),
            }
            connection.close().await;
        }
        Err(error) => report.error = Some(error.to_string()),
    }
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    report
}
