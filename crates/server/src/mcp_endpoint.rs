//! agentd as an MCP server: Streamable HTTP at `/mcp`, so any MCP client can
//! create tasks, follow sessions, send messages, cancel and answer
//! approvals.
//!
//! Authentication is the API's: the auth middleware resolves the bearer
//! token to a [`Caller`] before rmcp sees the request (401 without one), and
//! rmcp hands the request's parts to each tool call. Every tool then calls
//! the same engine functions as the REST routes with the same tenancy check
//! (`session_within(id, caller.reach())`): another member's session is "not
//! found", and mutating tools need a token with the `write` scope.

use std::sync::Arc;

use agentd_protocol::event::ApprovalDecision;
use agentd_protocol::{
    CreateTaskRequest, EventEnvelope, Scope, SessionId, SessionStatus, SessionView,
};
use rmcp::handler::server::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::auth::audit::Actor;
use crate::error::ApiError;
use crate::state::AppState;

/// Events `get_session` returns when the caller names no number.
const DEFAULT_EVENTS: u32 = 20;
const MAX_EVENTS: u32 = 200;

/// The tower service mounted at `/mcp`.
pub(crate) fn service(state: AppState) -> StreamableHttpService<AgentdMcp, LocalSessionManager> {
    let config = StreamableHttpServerConfig::default()
        .with_cancellation_token(state.manager.shutdown_token())
        // The Host allow-list guards unauthenticated local servers against
        // DNS rebinding; every request here carries a bearer token, and the
        // server is reached under whatever name its operator gives it.
        .disable_allowed_hosts();
    StreamableHttpService::new(
        move || {
            Ok(AgentdMcp {
                state: state.clone(),
            })
        },
        Arc::new(LocalSessionManager::default()),
        config,
    )
}

#[derive(Clone)]
pub(crate) struct AgentdMcp {
    state: AppState,
}

/// A tool's failure as the MCP client sees it: a tool result with
/// `isError`, carrying the API's error code and message.
struct ToolError(String);

impl From<ApiError> for ToolError {
    fn from(e: ApiError) -> Self {
        Self(format!("{}: {}", e.code.as_str(), e.message))
    }
}

impl From<agentd_core::CoreError> for ToolError {
    fn from(e: agentd_core::CoreError) -> Self {
        ApiError::from(e).into()
    }
}

fn schema(value: Value) -> Arc<JsonObject> {
    match value {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(JsonObject::new()),
    }
}

fn tools() -> Vec<Tool> {
    let session_id = json!({"type": "string", "description": "The session (or task) id"});
    vec![
        Tool::new(
            "create_task",
            "Start a task: an agent works on a repository without a person (unattended unless \
             a permission mode is given) and ends with a result (an answer, a pushed branch, a \
             pull request). Returns the task; follow it with get_session.",
            schema(json!({
                "type": "object",
                "properties": {
                    "repo": {"type": "string", "description": "A git URL or an absolute path to a repository on the server"},
                    "prompt": {"type": "string", "description": "What the agent should do"},
                    "branch": {"type": "string"},
                    "title": {"type": "string"},
                    "runtime": {"type": "string", "enum": ["builtin", "claude-code"]},
                    "model": {"type": "string"},
                    "permission_mode": {"type": "string", "enum": ["default", "acceptEdits", "plan", "bypassPermissions", "unattended"]},
                    "open_pr": {"type": "boolean"},
                    "github_repo": {"type": "string"}
                },
                "required": ["repo", "prompt"]
            })),
        ),
        Tool::new(
            "list_sessions",
            "The caller's sessions and tasks, newest first.",
            schema(json!({
                "type": "object",
                "properties": {
                    "status": {"type": "string", "enum": ["queued", "running", "blocked_on_approval", "idle", "completed", "failed", "cancelled", "interrupted", "paused"]},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 200}
                }
            })),
        ),
        Tool::new(
            "get_session",
            "One session with its most recent events (the agent's messages, tool calls, \
             approval requests, status changes).",
            schema(json!({
                "type": "object",
                "properties": {
                    "session_id": session_id,
                    "events": {"type": "integer", "minimum": 0, "maximum": MAX_EVENTS, "description": "How many recent events (default 20)"}
                },
                "required": ["session_id"]
            })),
        ),
        Tool::new(
            "send_message",
            "A follow-up message to a session; it runs now, or after the running turn.",
            schema(json!({
                "type": "object",
                "properties": {"session_id": session_id, "text": {"type": "string"}},
                "required": ["session_id", "text"]
            })),
        ),
        Tool::new(
            "cancel_session",
            "Interrupt a session's running turn.",
            schema(json!({
                "type": "object",
                "properties": {"session_id": session_id},
                "required": ["session_id"]
            })),
        ),
        Tool::new(
            "answer_approval",
            "Answer a tool call waiting for a person (see the permission.requested events of \
             get_session).",
            schema(json!({
                "type": "object",
                "properties": {
                    "session_id": session_id,
                    "request_id": {"type": "string"},
                    "decision": {"type": "string", "enum": ["accept", "accept_for_session", "decline", "cancel"]},
                    "message": {"type": "string", "description": "Why, for a decline; the model sees it"}
                },
                "required": ["session_id", "request_id", "decision"]
            })),
        ),
    ]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListArgs {
    status: Option<SessionStatus>,
    limit: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GetArgs {
    session_id: String,
    events: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageArgs {
    session_id: String,
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionArgs {
    session_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerArgs {
    session_id: String,
    request_id: String,
    decision: ApprovalDecision,
    message: Option<String>,
}

fn args<T: serde::de::DeserializeOwned>(arguments: Option<JsonObject>) -> Result<T, ToolError> {
    serde_json::from_value(Value::Object(arguments.unwrap_or_default()))
        .map_err(|e| ToolError(format!("validation_failed: {e}")))
}

fn to_value(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl AgentdMcp {
    /// The session if the caller may reach it: exactly the REST routes'
    /// `OwnedSession` check (another member's session is "not found").
    async fn session(&self, caller: &Caller, raw: &str) -> Result<SessionView, ToolError> {
        let id: SessionId = raw
            .parse()
            .map_err(|_| ToolError("not_found: session not found".into()))?;
        Ok(self
            .state
            .manager
            .session_within(id, caller.reach())
            .await?)
    }

    async fn run(
        &self,
        caller: &Caller,
        name: &str,
        arguments: Option<JsonObject>,
    ) -> Result<Value, ToolError> {
        let manager = &self.state.manager;
        let writes = !matches!(name, "list_sessions" | "get_session");
        if writes && !caller.scope.allows(Scope::Write) {
            return Err(ToolError(format!(
                "forbidden: the token's scope is {}; {name} needs write",
                caller.scope
            )));
        }
        match name {
            "create_task" => {
                let req: CreateTaskRequest = args(arguments)?;
                agentd_protocol::Validate::validate(&req).map_err(ApiError::from)?;
                let task = manager
                    .create_task(req, Some(caller.user_id.clone()))
                    .await?;
                self.audit(
                    caller,
                    "task.create",
                    &task.id.to_string(),
                    json!({"repo": task.repo, "via": "mcp"}),
                )
                .await;
                Ok(to_value(&task))
            }
            "list_sessions" => {
                let a: ListArgs = args(arguments)?;
                let list = manager
                    .list_sessions_within(caller.reach(), a.status, None, a.limit.unwrap_or(50))
                    .await?;
                Ok(to_value(&list))
            }
            "get_session" => {
                let a: GetArgs = args(arguments)?;
                let view = self.session(caller, &a.session_id).await?;
                let wanted = a.events.unwrap_or(DEFAULT_EVENTS).min(MAX_EVENTS);
                let events: Vec<EventEnvelope> = if wanted == 0 {
                    Vec::new()
                } else {
                    let after = view.last_seq.saturating_sub(u64::from(wanted));
                    manager.read_events(view.id, after, wanted).await?
                };
                Ok(json!({"session": view, "events": events}))
            }
            "send_message" => {
                let a: MessageArgs = args(arguments)?;
                let view = self.session(caller, &a.session_id).await?;
                let accepted = manager.send_message(view.id, a.text).await?;
                Ok(to_value(&accepted))
            }
            "cancel_session" => {
                let a: SessionArgs = args(arguments)?;
                let view = self.session(caller, &a.session_id).await?;
                let view = manager.cancel(view.id).await?;
                self.audit(
                    caller,
                    "session.cancel",
                    &view.id.to_string(),
                    json!({"via": "mcp"}),
                )
                .await;
                Ok(to_value(&view))
            }
            "answer_approval" => {
                let a: AnswerArgs = args(arguments)?;
                let view = self.session(caller, &a.session_id).await?;
                manager
                    .answer_approval(
                        view.id,
                        &a.request_id,
                        a.decision,
                        a.message,
                        caller.user_id.clone(),
                    )
                    .await?;
                self.audit(
                    caller,
                    "approval.answer",
                    &view.id.to_string(),
                    json!({"request_id": a.request_id, "decision": a.decision, "via": "mcp"}),
                )
                .await;
                Ok(json!({"answered": true}))
            }
            other => Err(ToolError(format!("not_found: no tool named {other:?}"))),
        }
    }

    async fn audit(&self, caller: &Caller, action: &str, target: &str, detail: Value) {
        self.state
            .audit(Actor::from(caller), action, Some(target.to_owned()), detail)
            .await;
    }
}

impl ServerHandler for AgentdMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("agentd", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Drive agentd, a server that runs AI coding agents: start tasks, follow \
                 sessions, send messages, cancel, and answer tool approvals.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, rmcp::ErrorData> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, rmcp::ErrorData> {
        // Put there by the auth middleware; its absence means the request
        // did not come through it, which must never run a tool.
        let caller = context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Caller>())
            .cloned()
            .ok_or_else(|| rmcp::ErrorData::invalid_request("authentication required", None))?;
        let result = match self.run(&caller, &request.name, request.arguments).await {
            Ok(value) => CallToolResult::success(vec![ContentBlock::text(
                serde_json::to_string_pretty(&value).unwrap_or_default(),
            )]),
            Err(ToolError(message)) => CallToolResult::error(vec![ContentBlock::text(message)]),
        };
        Ok(result.into())
    }
}
