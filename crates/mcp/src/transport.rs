//! Starting a session: spawning a stdio server or dialling a Streamable HTTP
//! one, then the `initialize` handshake, bounded by `timeouts.connect`.

use std::collections::{BTreeMap, HashMap};
use std::error::Error as _;
use std::process::Stdio;
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::model::{ClientCapabilities, ClientConfig, Implementation};
use rmcp::service::ClientInitializeError;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClientTransportConfig, StreamableHttpError,
};
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use tokio::process::Command;

use crate::config::{Secret, header_pair};
use crate::connection::{McpConnection, McpTimeouts};
use crate::error::McpError;
use crate::stderr::StderrTail;

/// How long a stdio server that failed to start gets to finish writing its
/// error to stderr before the error is reported without it.
const STDERR_GRACE: Duration = Duration::from_millis(500);

fn client_config() -> ClientConfig {
    // No roots, sampling or elicitation: agentd cannot answer those requests,
    // and servers only offer the tools that need them when declared.
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("agentd", env!("CARGO_PKG_VERSION")),
    )
}

/// Builds the process of a stdio server: directly on the host
/// ([`DirectStdio`]), or wrapped, e.g. in the session's sandbox. The builder
/// must run `command` with `args` verbatim (never through a shell) and give
/// it `env`; stdin, stdout and stderr are set by the caller.
pub trait StdioCommand: Send + Sync {
    /// The command to spawn, or why it cannot be built (shown to the user).
    fn build(
        &self,
        server: &str,
        command: &str,
        args: &[String],
        env: &BTreeMap<String, Secret>,
    ) -> Result<Command, String>;
}

/// Runs the server as a child of agentd with a scrubbed environment.
#[derive(Clone, Copy, Debug, Default)]
pub struct DirectStdio;

impl StdioCommand for DirectStdio {
    fn build(
        &self,
        _server: &str,
        command: &str,
        args: &[String],
        env: &BTreeMap<String, Secret>,
    ) -> Result<Command, String> {
        // Run directly, never via `sh -c`: args reach the server verbatim.
        let mut cmd = Command::new(command);
        cmd.args(args);
        scrub_env(&mut cmd);
        for (key, value) in env {
            cmd.env(key, value.expose());
        }
        Ok(cmd)
    }
}

pub(crate) async fn connect_stdio(
    server: &str,
    command: &str,
    args: &[String],
    env: &BTreeMap<String, Secret>,
    timeouts: &McpTimeouts,
    builder: &dyn StdioCommand,
) -> Result<McpConnection, McpError> {
    let mut cmd = builder
        .build(server, command, args, env)
        .map_err(|reason| McpError::config(Some(server), reason))?;
    cmd.kill_on_drop(true);
    let (transport, stderr) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| McpError::Spawn {
            server: server.to_owned(),
            command: command.to_owned(),
            source,
        })?;
    let pid = transport.id();
    let (tail, reader) = match stderr {
        Some(stderr) => {
            let (tail, reader) = StderrTail::capture(server, stderr);
            (Some(tail), Some(reader))
        }
        None => (None, None),
    };
    match tokio::time::timeout(timeouts.connect, client_config().serve(transport)).await {
        Ok(Ok(service)) => Ok(McpConnection::new(server, service, tail, pid, timeouts)),
        Ok(Err(error)) => {
            // The child usually exited; let its last words reach the tail.
            if let Some(reader) = reader {
                let _ = tokio::time::timeout(STDERR_GRACE, reader).await;
            }
            Err(McpError::Connect {
                server: server.to_owned(),
                reason: describe_init_error(&error),
                stderr: tail.as_ref().and_then(StderrTail::text),
            })
        }
        // Dropping the `serve` future dropped the transport, killing the child.
        Err(_) => Err(McpError::Timeout {
            server: server.to_owned(),
            operation: "initialize",
            after: timeouts.connect,
        }),
    }
}

/// rmcp's transport errors print the transport's Rust type name; users need
/// the cause instead ("Connection refused", "Broken pipe").
fn describe_init_error(error: &ClientInitializeError) -> String {
    match error {
        ClientInitializeError::TransportError { error, context } => {
            let mut reason = format!("failed to {context}: {}", error.error);
            // The HTTP transport's `Client` variant does not expose reqwest's
            // error as its source, which holds the useful part ("Connection refused").
            let mut source = match error
                .error
                .downcast_ref::<StreamableHttpError<reqwest::Error>>()
            {
                Some(StreamableHttpError::Client(client)) => client.source(),
                _ => error.error.source(),
            };
            while let Some(cause) = source {
                reason.push_str(": ");
                reason.push_str(&cause.to_string());
                source = cause.source();
            }
            reason
        }
        other => other.to_string(),
    }
}

/// The same policy as the builtin tools' processes: server secrets
/// (`ANTHROPIC_API_KEY`, `AGENTD_*`, …) never reach a third-party server
/// unless its config sets them explicitly.
fn scrub_env(cmd: &mut Command) {
    for name in agentd_tools::SCRUBBED_ENV_VARS {
        cmd.env_remove(name);
    }
    for (name, _) in std::env::vars_os() {
        if name
            .to_str()
            .is_some_and(|name| name.starts_with(agentd_tools::SCRUBBED_ENV_PREFIX))
        {
            cmd.env_remove(name);
        }
    }
}

pub(crate) async fn connect_http(
    server: &str,
    url: &str,
    headers: &BTreeMap<String, Secret>,
    timeouts: &McpTimeouts,
) -> Result<McpConnection, McpError> {
    let mut custom = HashMap::new();
    for (key, value) in headers {
        let (name, value) =
            header_pair(key, value).map_err(|reason| McpError::config(Some(server), reason))?;
        custom.insert(name, value);
    }
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url).custom_headers(custom),
    );
    match tokio::time::timeout(timeouts.connect, client_config().serve(transport)).await {
        Ok(Ok(service)) => Ok(McpConnection::new(server, service, None, None, timeouts)),
        Ok(Err(error)) => Err(McpError::Connect {
            server: server.to_owned(),
            reason: describe_init_error(&error),
            stderr: None,
        }),
        Err(_) => Err(McpError::Timeout {
            server: server.to_owned(),
            operation: "initialize",
            after: timeouts.connect,
        }),
    }
}
