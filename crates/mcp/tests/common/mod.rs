//! The real `@modelcontextprotocol/server-everything` (installed by
//! scripts/test), over stdio and over Streamable HTTP.
#![allow(dead_code, reason = "each test crate uses a different subset")]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use agentd_mcp::{McpServerConfig, McpTimeouts};
use agentd_tools::{ToolContext, Workspace};
use tempfile::TempDir;

/// Short enough that a failing test fails fast, long enough for node to start
/// on a busy two-core machine.
pub fn timeouts() -> McpTimeouts {
    McpTimeouts {
        connect: Duration::from_secs(20),
        request: Duration::from_secs(10),
        call: Duration::from_secs(10),
        close: Duration::from_secs(3),
    }
}

pub fn everything_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("AGENTD_TEST_MCP_EVERYTHING") {
        return path.into();
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    let path =
        PathBuf::from(home).join(".cache/agentd-npm/node_modules/.bin/mcp-server-everything");
    assert!(
        path.exists(),
        "server-everything is not installed: run scripts/test once, or set AGENTD_TEST_MCP_EVERYTHING"
    );
    path
}

pub fn everything_stdio(name: &str) -> McpServerConfig {
    McpServerConfig::stdio(name, everything_bin().to_string_lossy(), &["stdio"])
}

pub struct Fixture {
    pub dir: TempDir,
    pub ctx: ToolContext,
}

pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ToolContext::new(Workspace::new(dir.path()).unwrap());
    Fixture { dir, ctx }
}

/// server-everything in `streamableHttp` mode on a free loopback port,
/// killed on drop.
pub struct HttpServer {
    _child: tokio::process::Child,
    pub url: String,
}

impl HttpServer {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = tokio::process::Command::new(everything_bin())
            .arg("streamableHttp")
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "server-everything did not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            _child: child,
            url: format!("http://127.0.0.1:{port}/mcp"),
        }
    }
}
