//! Servers that cannot start, never answer or die: each is a clear error
//! within its timeout, never a hang.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use agentd_mcp::{McpConnection, McpError, McpServerConfig, McpTimeouts, McpToolset, check};
use common::{everything_stdio, timeouts};

fn short() -> McpTimeouts {
    McpTimeouts {
        connect: Duration::from_secs(2),
        ..timeouts()
    }
}

#[tokio::test]
async fn a_missing_command_is_a_spawn_error() {
    let config = McpServerConfig::stdio("missing", "agentd-no-such-mcp-server", &[]);
    let started = Instant::now();
    let error = McpConnection::connect(&config, &short()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(matches!(error, McpError::Spawn { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("`missing`") && message.contains("agentd-no-such-mcp-server"),
        "{message}"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_initialize_times_out() {
    // An argument no other process has, to find this child afterwards.
    let config = McpServerConfig::stdio("hung", "sleep", &["61.234"]);
    let started = Instant::now();
    let error = McpConnection::connect(&config, &short()).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );
    assert!(
        matches!(
            &error,
            McpError::Timeout {
                operation: "initialize",
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "MCP server `hung`: initialize timed out after 2s"
    );

    // Giving up on the handshake killed the child.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let survivors = std::process::Command::new("pgrep")
        .args(["-f", "sleep 61.234"])
        .output()
        .unwrap();
    assert!(survivors.stdout.is_empty(), "{survivors:?}");
}

#[tokio::test]
async fn a_server_that_exits_shows_its_stderr() {
    // The config names `sh` itself; agentd never adds a shell.
    let config = McpServerConfig::stdio(
        "dies",
        "sh",
        &["-c", "echo 'npm error 404 package not found' >&2; exit 1"],
    );
    let error = McpConnection::connect(&config, &short()).await.unwrap_err();
    assert!(matches!(error, McpError::Connect { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("npm error 404 package not found"),
        "{error}"
    );
}

#[tokio::test]
async fn an_unreachable_url_is_a_connect_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = McpServerConfig::http("nowhere", format!("http://127.0.0.1:{port}/mcp"));
    let started = Instant::now();
    let error = McpConnection::connect(&config, &short()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(matches!(error, McpError::Connect { .. }), "{error}");
    assert!(error.to_string().contains("Connection refused"), "{error}");
    let report = check(&config, &short()).await;
    assert!(!report.ok);
    assert!(report.error.unwrap().contains("`nowhere`"));
}

#[tokio::test]
async fn a_broken_server_does_not_block_the_others() {
    let configs = [
        McpServerConfig::stdio("hung", "sleep", &["60"]),
        everything_stdio("good"),
        McpServerConfig::stdio("missing", "agentd-no-such-mcp-server", &[]),
        everything_stdio("good"),
    ];
    let timeouts = McpTimeouts {
        connect: Duration::from_secs(6),
        ..timeouts()
    };
    let started = Instant::now();
    let set = McpToolset::connect_all(&configs, &timeouts).await;
    assert!(started.elapsed() < Duration::from_secs(8));
    let failed: Vec<&str> = set.failures.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(failed, ["good", "hung", "missing"]);
    assert!(
        set.failures[0]
            .1
            .to_string()
            .contains("duplicate server name")
    );
    assert!(set.tools.iter().any(|t| t.spec().name == "mcp__good__echo"));
    assert_eq!(set.connections().len(), 1);
    set.close().await;
}

#[tokio::test]
async fn invalid_configs_are_rejected_before_spawning() {
    let config = McpServerConfig::stdio("bad__name", "true", &[]);
    let error = McpConnection::connect(&config, &short()).await.unwrap_err();
    assert!(matches!(error, McpError::InvalidConfig { .. }), "{error}");
}
