//! The client and tool adapter against the real server-everything, over stdio
//! and Streamable HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentd_mcp::{McpConnection, McpError, McpServerConfig, McpToolset, McpTransport, check};
use agentd_tools::{Registry, Tool};
use common::{HttpServer, everything_stdio, fixture, timeouts};
use pretty_assertions::assert_eq;
use serde_json::json;

#[tokio::test]
async fn stdio_tools_are_listed_and_called_through_the_adapter() {
    let set = McpToolset::connect_all(&[everything_stdio("everything")], &timeouts()).await;
    assert!(set.failures.is_empty(), "{:?}", set.failures);
    let mut registry = Registry::new();
    for tool in &set.tools {
        registry.register(Arc::clone(tool));
    }
    let names = registry.names();
    for expected in [
        "mcp__everything__echo",
        "mcp__everything__get-sum",
        "mcp__everything__get-tiny-image",
    ] {
        assert!(names.contains(&expected.to_owned()), "{names:?}");
    }
    let echo = registry.get("mcp__everything__echo").unwrap().spec();
    assert_eq!(echo.description, "Echoes back the input string");
    assert_eq!(echo.input_schema["type"], "object");
    assert!(
        echo.input_schema["properties"]["message"].is_object(),
        "{}",
        echo.input_schema
    );

    let fx = fixture();
    let outcome = registry
        .get("mcp__everything__echo")
        .unwrap()
        .call(json!({"message": "hello"}), &fx.ctx)
        .await;
    assert_eq!(
        (outcome.content.as_str(), outcome.is_error),
        ("Echo: hello", false)
    );

    let outcome = registry
        .get("mcp__everything__get-sum")
        .unwrap()
        .call(json!({"a": 2, "b": 40}), &fx.ctx)
        .await;
    assert_eq!(
        (outcome.content.as_str(), outcome.is_error),
        ("The sum of 2 and 40 is 42.", false)
    );

    // Non-text blocks are summarized, not pasted as base64.
    let outcome = registry
        .get("mcp__everything__get-tiny-image")
        .unwrap()
        .call(json!({}), &fx.ctx)
        .await;
    assert!(!outcome.is_error, "{}", outcome.content);
    assert!(
        outcome.content.contains("[image: image/png, "),
        "{}",
        outcome.content
    );
    assert!(outcome.content.len() < 500, "{}", outcome.content);
    set.close().await;
}

#[tokio::test]
async fn tool_errors_come_back_as_error_outcomes() {
    let connection = Arc::new(
        McpConnection::connect(&everything_stdio("e"), &timeouts())
            .await
            .unwrap(),
    );
    let infos = connection.list_tools().await.unwrap();
    let tools = McpToolset::tools_for(&connection, infos);
    let get_sum = tools.iter().find(|t| t.remote_name() == "get-sum").unwrap();
    let fx = fixture();

    let outcome = get_sum.call(json!({"a": "two", "b": 1}), &fx.ctx).await;
    assert!(outcome.is_error, "{}", outcome.content);
    assert!(!outcome.content.is_empty());

    let outcome = get_sum.call(json!(["not", "an", "object"]), &fx.ctx).await;
    assert!(outcome.is_error);
    assert!(
        outcome.content.contains("expected a JSON object"),
        "{}",
        outcome.content
    );

    // An unknown tool is either a JSON-RPC error or an `isError` result;
    // both must reach the model as an error, never as success.
    match connection.call_tool("no-such-tool", json!({})).await {
        Ok(result) => assert!(result.is_error, "{result:?}"),
        Err(error) => assert!(matches!(error, McpError::Server { .. }), "{error}"),
    }
    connection.close().await;
}

#[tokio::test]
async fn env_is_passed_and_server_secrets_are_not() {
    let mut config = everything_stdio("env");
    if let McpTransport::Stdio { env, .. } = &mut config.transport {
        env.insert("MCP_TEST_VALUE".into(), "from-config".into());
    }
    let connection = McpConnection::connect(&config, &timeouts()).await.unwrap();
    let result = connection.call_tool("get-env", json!({})).await.unwrap();
    let env: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&result.content).unwrap();
    assert_eq!(env.get("MCP_TEST_VALUE"), Some(&json!("from-config")));
    let leaked: Vec<&String> = env
        .keys()
        .filter(|key| key.starts_with("AGENTD_"))
        .collect();
    assert!(leaked.is_empty(), "{leaked:?}");
    connection.close().await;
}

#[tokio::test]
async fn cancelling_a_call_returns_promptly() {
    let connection = Arc::new(
        McpConnection::connect(&everything_stdio("slow"), &timeouts())
            .await
            .unwrap(),
    );
    let infos = connection.list_tools().await.unwrap();
    let tools = McpToolset::tools_for(&connection, infos);
    let slow = tools
        .iter()
        .find(|t| t.remote_name() == "trigger-long-running-operation")
        .unwrap();
    let fx = fixture();
    let cancel = fx.ctx.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let outcome = slow
        .call(json!({"duration": 30, "steps": 30}), &fx.ctx)
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(outcome.is_error);
    assert!(outcome.content.contains("cancelled"), "{}", outcome.content);

    // The session survives a cancelled call.
    let result = connection
        .call_tool("echo", json!({"message": "still here"}))
        .await
        .unwrap();
    assert_eq!(result.content, "Echo: still here");
    connection.close().await;
}

#[tokio::test]
async fn a_crashed_server_fails_the_next_call() {
    let connection = McpConnection::connect(&everything_stdio("crash"), &timeouts())
        .await
        .unwrap();
    let pid = connection.process_id().unwrap();
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = Instant::now();
    let error = connection
        .call_tool("echo", json!({"message": "x"}))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(matches!(error, McpError::Closed { .. }), "{error}");
    assert!(error.to_string().contains("`crash`"), "{error}");
}

#[tokio::test]
async fn health_check_reports_identity_and_tools() {
    let report = check(&everything_stdio("everything"), &timeouts()).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.error, None);
    assert!(
        report.server_name.is_some() && report.server_version.is_some(),
        "{report:?}"
    );
    assert!(report.tools.contains(&"echo".to_owned()), "{report:?}");
    assert!(report.duration_ms > 0);
}

#[tokio::test]
async fn streamable_http_lists_and_calls_tools() {
    let server = HttpServer::start().await;
    let mut config = McpServerConfig::http("web", server.url.clone());
    if let McpTransport::Http { headers, .. } = &mut config.transport {
        headers.insert("Authorization".into(), "Bearer test-token".into());
    }
    let set = McpToolset::connect_all(&[config.clone()], &timeouts()).await;
    assert!(set.failures.is_empty(), "{:?}", set.failures);
    let get_sum = set
        .tools
        .iter()
        .find(|t| t.spec().name == "mcp__web__get-sum")
        .unwrap();
    let fx = fixture();
    let outcome = get_sum.call(json!({"a": 1.5, "b": 2}), &fx.ctx).await;
    assert_eq!(
        (outcome.content.as_str(), outcome.is_error),
        ("The sum of 1.5 and 2 is 3.5.", false)
    );
    set.close().await;

    let report = check(&config, &timeouts()).await;
    assert!(report.ok, "{report:?}");
    assert!(report.tools.contains(&"echo".to_owned()));
}
