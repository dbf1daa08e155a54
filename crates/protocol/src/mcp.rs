//! MCP servers over the API: a user's saved servers (`/api/v1/mcp/…`) and
//! the `mcp_servers` of a new session.
//!
//! Env and header values are secrets: they go in and never come out; views
//! carry only their key names (`env_keys`, `header_keys`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// How agentd reaches an MCP server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum McpTransportKind {
    /// A local process speaking MCP on stdin/stdout (`command`, `args`, `env`).
    Stdio,
    /// Streamable HTTP (`url`, `headers`).
    Http,
}

impl McpTransportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stdio => "stdio",
            Self::Http => "http",
        }
    }
}

/// `POST /api/v1/mcp/servers` and `PUT /api/v1/mcp/servers/{id}`; also an
/// inline entry of a session's `mcp_servers`. Either `command` (stdio) or
/// `url` (Streamable HTTP); `type` may say which, as in `.mcp.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct McpServerInput {
    /// `[A-Za-z0-9_-]{1,64}` without `__`: tools appear as
    /// `mcp__<name>__<tool>`.
    pub name: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<McpTransportKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Secret values. On `PUT`, leaving `env` out keeps the stored values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Secret values. On `PUT`, leaving `headers` out keeps the stored values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
}

/// A saved MCP server as the API shows it: never the secret values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct McpServerView {
    pub id: String,
    pub name: String,
    pub transport: McpTransportKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    /// Names of the environment variables set (values are never returned).
    #[serde(default)]
    pub env_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Names of the headers sent (values are never returned).
    #[serde(default)]
    pub header_keys: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `GET /api/v1/mcp/servers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct McpServerList {
    pub servers: Vec<McpServerView>,
}

/// A tool of an MCP server, by its own (unprefixed) name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct McpToolView {
    pub name: String,
    pub description: String,
}

/// `POST /api/v1/mcp/servers/{id}/check`: the server was started (or
/// dialled) and asked for its tools.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct McpCheckResult {
    pub ok: bool,
    pub tools: Vec<McpToolView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `POST /api/v1/mcp/import`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct McpImportResult {
    /// Names of the servers saved, in name order.
    pub imported: Vec<String>,
}

/// One entry of a new session's `mcp_servers`: the name of one of the
/// caller's saved servers, or a server given inline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum SessionMcpServer {
    Saved(String),
    Inline(McpServerInput),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_entries_are_names_or_inline_servers() {
        let entries: Vec<SessionMcpServer> = serde_json::from_str(
            r#"["everything", {"name": "web", "type": "http", "url": "https://x/mcp"}]"#,
        )
        .unwrap();
        assert_eq!(entries[0], SessionMcpServer::Saved("everything".into()));
        let SessionMcpServer::Inline(web) = &entries[1] else {
            panic!("inline");
        };
        assert_eq!(web.kind, Some(McpTransportKind::Http));
        assert!(serde_json::from_str::<McpServerInput>(r#"{"name":"a","bogus":1}"#).is_err());
    }
}
