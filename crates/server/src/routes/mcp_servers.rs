//! `/api/v1/mcp/…`: the caller's saved MCP servers, their health check and
//! the `.mcp.json` import/export. Env and header values go in and never come
//! out: views list their key names only.

use agentd_protocol::{
    ErrorBody, McpCheckResult, McpImportResult, McpServerInput, McpServerList, McpServerView,
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::json;

use crate::auth::Caller;
use crate::auth::audit::Actor;
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

async fn record(state: &AppState, caller: &Caller, action: &str, id: &str, name: &str) {
    state
        .audit(
            Actor::from(caller),
            action,
            Some(id.to_owned()),
            json!({"name": name}),
        )
        .await;
}

/// The caller's saved MCP servers, by name (secret values never shown).
#[utoipa::path(get, path = "/api/v1/mcp/servers", tag = "mcp",
    responses(
        (status = 200, description = "The caller's MCP servers", body = McpServerList),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub(crate) async fn list_mcp_servers(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<McpServerList>, ApiError> {
    let servers = state.manager.list_mcp_servers(&caller.user_id).await?;
    Ok(axum::Json(McpServerList { servers }))
}

/// Save an MCP server: `command` (+ `args`, `env`) for stdio, or `url`
/// (+ `headers`) for Streamable HTTP. Env and header values are encrypted.
#[utoipa::path(post, path = "/api/v1/mcp/servers", tag = "mcp",
    request_body = McpServerInput,
    responses(
        (status = 201, description = "Saved", body = McpServerView),
        (status = 400, description = "Invalid configuration", body = ErrorBody),
        (status = 409, description = "The caller already has a server of this name", body = ErrorBody),
    ))]
pub(crate) async fn create_mcp_server(
    State(state): State<AppState>,
    caller: Caller,
    Json(input): Json<McpServerInput>,
) -> Result<(StatusCode, axum::Json<McpServerView>), ApiError> {
    let view = state
        .manager
        .create_mcp_server(&caller.user_id, &input)
        .await?;
    record(&state, &caller, "mcp_server.create", &view.id, &view.name).await;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

/// One saved MCP server.
#[utoipa::path(get, path = "/api/v1/mcp/servers/{id}", tag = "mcp",
    params(("id" = String, Path, description = "MCP server id")),
    responses(
        (status = 200, description = "The server", body = McpServerView),
        (status = 404, description = "No such server", body = ErrorBody),
    ))]
pub(crate) async fn get_mcp_server(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<McpServerView>, ApiError> {
    Ok(axum::Json(
        state.manager.get_mcp_server(&caller.user_id, &id).await?,
    ))
}

/// Replace a saved MCP server. Leaving `env` (or `headers`) out keeps the
/// stored values.
#[utoipa::path(put, path = "/api/v1/mcp/servers/{id}", tag = "mcp",
    params(("id" = String, Path, description = "MCP server id")),
    request_body = McpServerInput,
    responses(
        (status = 200, description = "Saved", body = McpServerView),
        (status = 400, description = "Invalid configuration", body = ErrorBody),
        (status = 404, description = "No such server", body = ErrorBody),
        (status = 409, description = "The caller already has a server of this name", body = ErrorBody),
    ))]
pub(crate) async fn update_mcp_server(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(input): Json<McpServerInput>,
) -> Result<axum::Json<McpServerView>, ApiError> {
    let view = state
        .manager
        .update_mcp_server(&caller.user_id, &id, &input)
        .await?;
    record(&state, &caller, "mcp_server.update", &view.id, &view.name).await;
    Ok(axum::Json(view))
}

/// Forget a saved MCP server (sessions already started keep their copy).
#[utoipa::path(delete, path = "/api/v1/mcp/servers/{id}", tag = "mcp",
    params(("id" = String, Path, description = "MCP server id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such server", body = ErrorBody),
    ))]
pub(crate) async fn delete_mcp_server(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .manager
        .delete_mcp_server(&caller.user_id, &id)
        .await?;
    record(&state, &caller, "mcp_server.delete", &id, "").await;
    Ok(StatusCode::NO_CONTENT)
}

/// Start (or dial) the server and list its tools. A broken server answers
/// `ok: false` with the reason.
#[utoipa::path(post, path = "/api/v1/mcp/servers/{id}/check", tag = "mcp",
    params(("id" = String, Path, description = "MCP server id")),
    responses(
        (status = 200, description = "What the server offers, or why it failed", body = McpCheckResult),
        (status = 404, description = "No such server", body = ErrorBody),
    ))]
pub(crate) async fn check_mcp_server(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<McpCheckResult>, ApiError> {
    Ok(axum::Json(
        state.manager.check_mcp_server(&caller.user_id, &id).await?,
    ))
}

/// The caller's servers as a `.mcp.json` document. Secret values are not
/// exported: each is written as `${NAME}` (which Claude Code expands from
/// the environment, and which import reads as "keep the stored value").
#[utoipa::path(get, path = "/api/v1/mcp/export", tag = "mcp",
    responses(
        (status = 200, description = "A .mcp.json document", body = Object),
    ))]
pub(crate) async fn export_mcp_servers(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    Ok(axum::Json(
        state.manager.export_mcp_servers(&caller.user_id).await?,
    ))
}

/// Save every server of a `.mcp.json` document (`{"mcpServers": {…}}`); a
/// server with a name the caller already uses is replaced.
#[utoipa::path(post, path = "/api/v1/mcp/import", tag = "mcp",
    request_body(content = Object, description = "A .mcp.json document"),
    responses(
        (status = 200, description = "The names saved", body = McpImportResult),
        (status = 400, description = "Not a valid .mcp.json document", body = ErrorBody),
    ))]
pub(crate) async fn import_mcp_servers(
    State(state): State<AppState>,
    caller: Caller,
    Json(document): Json<serde_json::Value>,
) -> Result<axum::Json<McpImportResult>, ApiError> {
    let result = state
        .manager
        .import_mcp_servers(&caller.user_id, &document.to_string())
        .await?;
    state
        .audit(
            Actor::from(&caller),
            "mcp_server.import",
            None,
            json!({"names": result.imported}),
        )
        .await;
    Ok(axum::Json(result))
}
