//! One live MCP client session, over a stdio child process or Streamable HTTP.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResponse, ClientConfig};
use rmcp::service::{Peer, RoleClient, RunningService, ServiceError};
use serde::{Deserialize, Serialize};

use crate::config::{McpServerConfig, McpTransport};
use crate::content;
use crate::error::McpError;
use crate::stderr::StderrTail;
use crate::transport;

/// Bounds on every operation, so a silent server cannot stall a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct McpTimeouts {
    /// Spawning or dialling plus the `initialize` handshake. Generous because
    /// `npx -y …` may download the server first.
    pub connect: Duration,
    /// `tools/list` (all pages together).
    pub request: Duration,
    /// One `tools/call`.
    pub call: Duration,
    /// Graceful shutdown; the child is killed after it either way.
    pub close: Duration,
}

impl Default for McpTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(30),
            request: Duration::from_secs(30),
            call: Duration::from_secs(120),
            close: Duration::from_secs(5),
        }
    }
}

/// A tool as the server describes it (original, unsanitized name).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct McpToolInfo {
    pub name: String,
    pub description: String,
    /// A JSON Schema object.
    pub input_schema: serde_json::Value,
}

/// The outcome of `tools/call`, as text for the model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCallResult {
    /// Text blocks joined by newlines; other blocks summarized in brackets.
    pub content: String,
    /// The server reported a tool-level failure (`isError: true`).
    pub is_error: bool,
}

/// Who answered `initialize`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerIdentity {
    pub name: String,
    pub version: String,
}

/// A connected MCP server. Share it with `Arc`; calls may run concurrently.
///
/// Dropping the last handle ends the session and kills a stdio child;
/// [`McpConnection::close`] does the same gracefully.
pub struct McpConnection {
    server: String,
    peer: Peer<RoleClient>,
    /// Taken by `close`; dropping it cancels the session task, which drops
    /// the transport and with it the child process.
    service: Mutex<Option<RunningService<RoleClient, ClientConfig>>>,
    identity: Option<ServerIdentity>,
    stderr: Option<StderrTail>,
    pid: Option<u32>,
    timeouts: McpTimeouts,
}

impl std::fmt::Debug for McpConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpConnection")
            .field("server", &self.server)
            .field("identity", &self.identity)
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

impl McpConnection {
    /// Validates `config`, starts or dials the server and completes the MCP
    /// handshake, all within `timeouts.connect`.
    pub async fn connect(
        config: &McpServerConfig,
        timeouts: &McpTimeouts,
    ) -> Result<Self, McpError> {
        Self::connect_via(config, timeouts, &transport::DirectStdio).await
    }

    /// Like [`connect`](Self::connect), with a stdio server's process built
    /// by `stdio` (e.g. inside a sandbox).
    pub async fn connect_via(
        config: &McpServerConfig,
        timeouts: &McpTimeouts,
        stdio: &dyn transport::StdioCommand,
    ) -> Result<Self, McpError> {
        config.validate()?;
        match &config.transport {
            McpTransport::Stdio { command, args, env } => {
                transport::connect_stdio(&config.name, command, args, env, timeouts, stdio).await
            }
            McpTransport::Http { url, headers } => {
                transport::connect_http(&config.name, url, headers, timeouts).await
            }
        }
    }

    pub fn server_name(&self) -> &str {
        &self.server
    }

    /// Name and version from the server's `initialize` answer, if it gave them.
    pub fn identity(&self) -> Option<&ServerIdentity> {
        self.identity.as_ref()
    }

    /// The child's process id, for stdio servers.
    pub fn process_id(&self) -> Option<u32> {
        self.pid
    }

    /// Every tool the server offers, following `nextCursor` through all pages.
    pub async fn list_tools(&self) -> Result<Vec<McpToolInfo>, McpError> {
        let tools = self
            .bounded(
                "tools/list",
                self.timeouts.request,
                self.peer.list_all_tools(),
            )
            .await?;
        Ok(tools
            .into_iter()
            .map(|tool| McpToolInfo {
                name: tool.name.into_owned(),
                description: tool
                    .description
                    .map(std::borrow::Cow::into_owned)
                    .unwrap_or_default(),
                input_schema: serde_json::Value::Object((*tool.input_schema).clone()),
            })
            .collect())
    }

    /// Calls `name` with `arguments` (a JSON object, or `null` for none),
    /// within `timeouts.call`. A tool that fails on its own terms is
    /// `Ok` with `is_error: true`; `Err` means the call itself failed.
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: serde_json::Value,
    ) -> Result<ToolCallResult, McpError> {
        let mut params = CallToolRequestParams::new(name.to_owned());
        match arguments {
            serde_json::Value::Object(map) => params = params.with_arguments(map),
            serde_json::Value::Null => {}
            other => {
                return Err(McpError::InvalidArguments {
                    server: self.server.clone(),
                    tool: name.to_owned(),
                    reason: format!("expected a JSON object, got `{other}`"),
                });
            }
        }
        // Dropping this future (timeout, cancellation) makes rmcp send
        // `notifications/cancelled`, so the server can stop the work too.
        let response = self
            .bounded(
                "tools/call",
                self.timeouts.call,
                self.peer.call_tool_once(params),
            )
            .await?;
        match response {
            CallToolResponse::Complete(result) => Ok(ToolCallResult {
                content: content::render(&result),
                is_error: result.is_error.unwrap_or(false),
            }),
            // Both need client features agentd does not declare, so a
            // well-behaved server never sends them.
            CallToolResponse::InputRequired(_) => Err(self.server_error(
                "the tool asked for user input (elicitation or sampling), which agentd does not support",
            )),
            _ => Err(self.server_error("the tool answered with a task, which agentd does not support")),
        }
    }

    /// Ends the session: closes the transport, waits up to `timeouts.close`
    /// for a stdio child to exit, then kills it. Later calls fail with
    /// [`McpError::Closed`].
    pub async fn close(&self) {
        let service = self
            .service
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(mut service) = service {
            match service.close_with_timeout(self.timeouts.close).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    tracing::warn!(server = %self.server, "mcp server did not close in time");
                }
                Err(e) => tracing::warn!(server = %self.server, "mcp session task failed: {e}"),
            }
        }
    }

    async fn bounded<T>(
        &self,
        operation: &'static str,
        after: Duration,
        request: impl Future<Output = Result<T, ServiceError>>,
    ) -> Result<T, McpError> {
        if self.peer.is_transport_closed() {
            return Err(self.closed());
        }
        match tokio::time::timeout(after, request).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(self.map_service_error(error, operation, after)),
            Err(_) => Err(McpError::Timeout {
                server: self.server.clone(),
                operation,
                after,
            }),
        }
    }

    fn map_service_error(
        &self,
        error: ServiceError,
        operation: &'static str,
        after: Duration,
    ) -> McpError {
        match error {
            ServiceError::McpError(data) => self.server_error(data.message.into_owned()),
            ServiceError::Timeout { .. } => McpError::Timeout {
                server: self.server.clone(),
                operation,
                after,
            },
            ServiceError::TransportClosed
            | ServiceError::TransportSend(_)
            | ServiceError::Cancelled { .. } => self.closed(),
            other => self.server_error(other.to_string()),
        }
    }

    fn server_error(&self, message: impl Into<String>) -> McpError {
        McpError::Server {
            server: self.server.clone(),
            message: message.into(),
        }
    }

    fn closed(&self) -> McpError {
        McpError::Closed {
            server: self.server.clone(),
            stderr: self.stderr.as_ref().and_then(StderrTail::text),
        }
    }
}

impl McpConnection {
    pub(crate) fn new(
        server: &str,
        service: RunningService<RoleClient, ClientConfig>,
        stderr: Option<StderrTail>,
        pid: Option<u32>,
        timeouts: &McpTimeouts,
    ) -> Self {
        let peer = service.peer().clone();
        let identity = peer
            .peer_info()
            .and_then(|info| info.server_info.clone())
            .map(|info| ServerIdentity {
                name: info.name,
                version: info.version,
            });
        Self {
            server: server.to_owned(),
            peer,
            service: Mutex::new(Some(service)),
            identity,
            stderr,
            pid,
            timeouts: timeouts.clone(),
        }
    }
}
