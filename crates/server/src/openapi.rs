//! The OpenAPI document, generated from the route definitions. A committed
//! copy (`openapi.json` at the repository root) is checked for drift.

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::routes::{events, sessions, ws};
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
    tags(
        (name = "sessions", description = "Agent sessions"),
        (name = "events", description = "Live and stored session events"),
    )
)]
struct ApiDoc;

pub(crate) fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(sessions::create_session, sessions::list_sessions))
        .routes(routes!(sessions::get_session, sessions::delete_session))
        .routes(routes!(sessions::send_message))
        .routes(routes!(sessions::steer))
        .routes(routes!(sessions::cancel))
        .routes(routes!(events::events))
        .routes(routes!(ws::ws))
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
