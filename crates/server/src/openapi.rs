//! The OpenAPI document, generated from the route definitions. A committed
//! copy (`openapi.json` at the repository root) is checked for drift.

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::routes::{
    approvals, audit, auth, credentials, events, files, github, mcp_servers, render, sessions,
    settings, shares, tasks, tokens, usage, users, web, webhooks, ws,
};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "agentd", description = "Run AI coding agents as a service."),
    components(schemas(
        agentd_protocol::EventEnvelope,
        agentd_protocol::WsClientMessage,
        agentd_protocol::WsServerMessage,
        agentd_protocol::Readiness,
    )),
    modifiers(&BearerScheme),
    // Every operation needs a bearer token unless it says otherwise.
    security(("bearer" = [])),
    tags(
        (name = "sessions", description = "Agent sessions"),
        (name = "events", description = "Live and stored session events"),
        (name = "files", description = "A session's workspace files: list, download, upload, archives and share links"),
        (name = "approvals", description = "Tool calls waiting for a person"),
        (name = "tasks", description = "Fire-and-forget work on a repository, ending in a result"),
        (name = "auth", description = "Login (tokens, browser sessions, GitHub), refresh, logout and stream tickets"),
        (name = "tokens", description = "Personal access tokens"),
        (name = "users", description = "Accounts (admins only)"),
        (name = "credentials", description = "The caller's own model and GitHub keys, encrypted at rest"),
        (name = "audit", description = "The audit log"),
        (name = "usage", description = "Token and cost usage, quotas and spend caps"),
        (name = "settings", description = "The caller's own Claude Code settings (hooks, permission rules)"),
        (name = "webhooks", description = "Deliveries from GitHub, authenticated by their signature"),
        (name = "mcp", description = "The caller's MCP servers: saved configurations (secrets encrypted), health checks, .mcp.json import and export"),
        (name = "ui", description = "Helpers of the web UI"),
    )
)]
struct ApiDoc;

/// `Authorization: Bearer <token>`: a personal access token
/// (`agentd_pat_…`) or a login's access token (`agentd_at_…`). Browsers may
/// use the `agentd_session` cookie instead (with `X-CSRF-Token` on
/// state-changing requests); the document lists the bearer scheme only.
struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A personal access token or a login's access token"))
                    .build(),
            ),
        );
    }
}

pub(crate) fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(sessions::create_session, sessions::list_sessions))
        .routes(routes!(sessions::get_session, sessions::delete_session))
        .routes(routes!(sessions::send_message))
        .routes(routes!(sessions::steer))
        .routes(routes!(sessions::cancel))
        .routes(routes!(sessions::pause))
        .routes(routes!(sessions::resume))
        .routes(routes!(sessions::checkpoints))
        .routes(routes!(sessions::rollback))
        .routes(routes!(files::list_files))
        .routes(routes!(files::get_content, files::put_content))
        .routes(routes!(files::get_archive))
        .routes(routes!(shares::create_share, shares::list_shares))
        .routes(routes!(shares::revoke_share))
        .routes(routes!(shares::download_shared))
        .routes(routes!(tasks::create_task, tasks::list_tasks))
        .routes(routes!(tasks::get_task))
        .routes(routes!(tasks::cancel_task))
        .routes(routes!(approvals::list_approvals))
        .routes(routes!(approvals::answer_approval))
        .routes(routes!(events::events))
        .routes(routes!(ws::ws))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::ticket))
        .routes(routes!(web::create_web_session))
        .routes(routes!(web::logout_all))
        .routes(routes!(github::github_start))
        .routes(routes!(github::github_callback))
        .routes(routes!(credentials::list_credentials))
        .routes(routes!(
            credentials::put_credential,
            credentials::delete_credential
        ))
        .routes(routes!(settings::get_settings, settings::put_settings))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::disable_user))
        .routes(routes!(users::unlock_user))
        .routes(routes!(audit::list_audit))
        .routes(routes!(usage::my_usage))
        .routes(routes!(usage::all_usage))
        .routes(routes!(usage::get_quotas, usage::put_quotas))
        .routes(routes!(webhooks::github_webhook))
        .routes(routes!(
            mcp_servers::list_mcp_servers,
            mcp_servers::create_mcp_server
        ))
        .routes(routes!(
            mcp_servers::get_mcp_server,
            mcp_servers::update_mcp_server,
            mcp_servers::delete_mcp_server
        ))
        .routes(routes!(mcp_servers::check_mcp_server))
        .routes(routes!(mcp_servers::export_mcp_servers))
        .routes(routes!(mcp_servers::import_mcp_servers))
        .routes(routes!(render::render_markdown))
        .routes(routes!(render::render_diff))
        .route("/api/v1/openapi.json", axum::routing::get(serve_openapi))
}

/// The document as pretty JSON (what is committed and served).
pub fn openapi_json() -> String {
    let (_, mut doc) = api_router().split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.to_pretty_json().unwrap_or_else(|_| "{}".to_owned())
}

async fn serve_openapi() -> impl axum::response::IntoResponse {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(openapi_json).clone();
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        doc,
    )
}
