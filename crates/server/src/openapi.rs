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
    // After the routes were added: a `Modify` on `ApiDoc` runs before
    // `OpenApiRouter` collects the operations, so it would see none.
    add_common_errors(&mut doc);
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

/// The answers any operation may give besides its own, added where the
/// route does not document them itself, so the document lists every status
/// the server can send:
/// - 400 for a malformed body, parameter or header (before the handler),
/// - 401 and 403 where a bearer token is needed (missing or bad token; a
///   token's scope, admin-only routes, a browser session's CSRF check),
/// - 413, 415 for JSON bodies (size limit, `Content-Type`),
/// - 422 where a body or query carries values that are range-checked,
/// - 429 (login throttling, session quotas, connection limits),
/// - 500 (a fault on our side, logged) and 503 (database unreachable,
///   shutting down; try again).
fn add_common_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{Operation, ParameterIn};
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    let add = |op: &mut Operation, status: &str, description: &str| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| error(description).into());
    };
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ]
        .into_iter()
        .flatten()
        {
            // `security(())` (an empty requirement) marks a public route;
            // `None` inherits the document's bearer requirement.
            let secured = op
                .security
                .as_ref()
                .is_none_or(|reqs| reqs.iter().all(|r| *r != Default::default()));
            let json_body = op.request_body.as_ref().is_some_and(
                |b| matches!(b, RefOr::T(b) if b.content.contains_key("application/json")),
            );
            let any_body = op.request_body.is_some();
            let queried = op.parameters.as_ref().is_some_and(|ps| {
                ps.iter().any(
                    |p| matches!(p, RefOr::T(p) if matches!(p.parameter_in, ParameterIn::Query)),
                )
            });
            let takes_input = any_body || op.parameters.as_ref().is_some_and(|ps| !ps.is_empty());
            if takes_input {
                add(op, "400", "A malformed body, parameter or header");
            }
            if secured {
                add(
                    op,
                    "401",
                    "Not authenticated: no token, or an invalid, revoked or expired one",
                );
                add(
                    op,
                    "403",
                    "Not allowed: the token's scope, an admin-only route, or a failed CSRF check",
                );
            }
            if any_body {
                add(op, "413", "The body is larger than the server accepts");
            }
            if json_body {
                add(op, "415", "The body is not sent as `application/json`");
            }
            if json_body || queried {
                add(
                    op,
                    "422",
                    "A value is out of range; the message names the field",
                );
            }
            add(
                op,
                "429",
                "Too many requests: login throttling, a session quota or a connection limit; see Retry-After",
            );
            add(op, "500", "An internal error (logged on the server)");
            add(
                op,
                "503",
                "The database cannot be reached, or the server is shutting down; try again",
            );
        }
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components
        .schemas
        .entry("ErrorBody".to_owned())
        .or_insert_with(<agentd_protocol::ErrorBody as utoipa::PartialSchema>::schema);
    components
        .schemas
        .entry("ApiError".to_owned())
        .or_insert_with(<agentd_protocol::ApiError as utoipa::PartialSchema>::schema);
    components
        .schemas
        .entry("ErrorCode".to_owned())
        .or_insert_with(<agentd_protocol::ErrorCode as utoipa::PartialSchema>::schema);
}
