//! MCP tools as ordinary agent tools, named `mcp__<server>__<tool>`.

use std::collections::HashSet;
use std::sync::Arc;

use agentd_tools::{Tool, ToolContext, ToolOutcome, ToolSpec, truncate_output};

use crate::config::McpServerConfig;
use crate::connection::{McpConnection, McpTimeouts, McpToolInfo};
use crate::error::McpError;
use crate::names::{disambiguated_spec_name, tool_spec_name};
use crate::transport::{DirectStdio, StdioCommand};

/// One tool of one server. All tools of a server share its connection.
pub struct McpTool {
    connection: Arc<McpConnection>,
    spec: ToolSpec,
    /// The name the server knows the tool by (the spec name is sanitized).
    remote_name: String,
}

impl McpTool {
    /// A tool named by [`tool_spec_name`]. [`McpToolset::tools_for`] is the
    /// way to build all tools of a server with collisions handled.
    pub fn new(connection: Arc<McpConnection>, info: McpToolInfo) -> Self {
        let name = tool_spec_name(connection.server_name(), &info.name);
        Self::named(connection, info, name)
    }

    fn named(connection: Arc<McpConnection>, info: McpToolInfo, spec_name: String) -> Self {
        let description = if info.description.trim().is_empty() {
            format!(
                "Tool `{}` of MCP server `{}`.",
                info.name,
                connection.server_name()
            )
        } else {
            info.description
        };
        Self {
            spec: ToolSpec {
                name: spec_name,
                description,
                input_schema: object_schema(info.input_schema),
            },
            remote_name: info.name,
            connection,
        }
    }

    pub fn remote_name(&self) -> &str {
        &self.remote_name
    }

    pub fn connection(&self) -> &Arc<McpConnection> {
        &self.connection
    }
}

/// The model API requires `"type": "object"` at the top of every input
/// schema; MCP requires it too, but an empty `{}` from a lax server would get
/// the whole request rejected, so it is added when missing.
fn object_schema(schema: serde_json::Value) -> serde_json::Value {
    match schema {
        serde_json::Value::Object(mut map) => {
            map.entry("type")
                .or_insert_with(|| serde_json::Value::from("object"));
            serde_json::Value::Object(map)
        }
        _ => serde_json::json!({"type": "object"}),
    }
}

#[async_trait::async_trait]
impl Tool for McpTool {
    fn spec(&self) -> ToolSpec {
        self.spec.clone()
    }

    async fn call(&self, input: serde_json::Value, ctx: &ToolContext) -> ToolOutcome {
        let call = self.connection.call_tool(&self.remote_name, input);
        let result = tokio::select! {
            biased;
            // Dropping `call` sends `notifications/cancelled` to the server.
            () = ctx.cancel.cancelled() => {
                return ToolOutcome::error(format!(
                    "MCP tool `{}` of server `{}` was cancelled",
                    self.remote_name,
                    self.connection.server_name()
                ));
            }
            result = call => result,
        };
        match result {
            Ok(result) => {
                let content = truncate_output(&result.content, ctx.limits.max_output_chars);
                if result.is_error {
                    ToolOutcome::error(content)
                } else {
                    ToolOutcome::ok(content)
                }
            }
            Err(error) => ToolOutcome::error(error.to_string()),
        }
    }
}

/// The tools of several servers, connected together.
#[derive(Default)]
pub struct McpToolset {
    /// Ready to [`agentd_tools::Registry::register`].
    pub tools: Vec<Arc<dyn Tool>>,
    /// Servers that could not be used, with why; the others still work.
    pub failures: Vec<(String, McpError)>,
    connections: Vec<Arc<McpConnection>>,
}

impl McpToolset {
    /// Connects to every server concurrently and lists its tools, so a slow
    /// or broken server costs at most its timeouts and never blocks the rest.
    /// Tools come in config order, then the server's order.
    pub async fn connect_all(configs: &[McpServerConfig], timeouts: &McpTimeouts) -> Self {
        Self::connect_all_via(configs, timeouts, &DirectStdio).await
    }

    /// Like [`connect_all`](Self::connect_all), with stdio servers' processes
    /// built by `stdio` (e.g. inside a sandbox).
    pub async fn connect_all_via(
        configs: &[McpServerConfig],
        timeouts: &McpTimeouts,
        stdio: &dyn StdioCommand,
    ) -> Self {
        let mut seen = HashSet::new();
        let mut set = Self::default();
        let mut unique = Vec::new();
        for config in configs {
            if seen.insert(config.name.as_str()) {
                unique.push(config);
            } else {
                set.failures.push((
                    config.name.clone(),
                    McpError::config(Some(&config.name), "duplicate server name"),
                ));
            }
        }
        let results = futures::future::join_all(unique.iter().map(|config| async move {
            let connection = Arc::new(McpConnection::connect_via(config, timeouts, stdio).await?);
            match connection.list_tools().await {
                Ok(tools) => Ok((connection, tools)),
                Err(error) => {
                    connection.close().await;
                    Err(error)
                }
            }
        }))
        .await;
        for (config, result) in unique.into_iter().zip(results) {
            match result {
                Ok((connection, infos)) => {
                    let tools = Self::tools_for(&connection, infos);
                    set.tools.extend(
                        tools
                            .into_iter()
                            .map(|tool| Arc::new(tool) as Arc<dyn Tool>),
                    );
                    set.connections.push(connection);
                }
                Err(error) => set.failures.push((config.name.clone(), error)),
            }
        }
        set
    }

    /// Adapters for `infos`, named as described in [`crate::names`]: a name
    /// already taken falls back to its hashed form; a tool whose hashed form
    /// is taken too is skipped with a warning.
    pub fn tools_for(connection: &Arc<McpConnection>, infos: Vec<McpToolInfo>) -> Vec<McpTool> {
        let server = connection.server_name().to_owned();
        let mut taken = HashSet::new();
        let mut tools = Vec::with_capacity(infos.len());
        for info in infos {
            let mut name = tool_spec_name(&server, &info.name);
            if taken.contains(&name) {
                name = disambiguated_spec_name(&server, &info.name);
            }
            if !taken.insert(name.clone()) {
                tracing::warn!(server = %server, tool = %info.name, "skipping MCP tool: its name collides with another tool");
                continue;
            }
            tools.push(McpTool::named(Arc::clone(connection), info, name));
        }
        tools
    }

    /// The live connections, one per working server.
    pub fn connections(&self) -> &[Arc<McpConnection>] {
        &self.connections
    }

    /// Closes every connection concurrently.
    pub async fn close(&self) {
        futures::future::join_all(self.connections.iter().map(|c| c.close())).await;
    }
}
