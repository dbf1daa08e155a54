//! `POST /api/v1/render/markdown`: the web UI's Markdown renderer. The page
//! streams text as it arrives and asks for the HTML of a message (throttled
//! while it streams, once more when it completes), so Markdown parsing and
//! sanitising live in one Rust place (`agentd-web`) rather than in
//! JavaScript.

use agentd_protocol::{ErrorBody, RenderMarkdownRequest, RenderedHtml};

use crate::extract::Json;

/// Render Markdown as sanitized HTML (no scripts, styles or event handlers).
#[utoipa::path(post, path = "/api/v1/render/markdown", tag = "ui",
    request_body = RenderMarkdownRequest,
    responses(
        (status = 200, description = "The sanitized HTML", body = RenderedHtml),
        (status = 400, description = "Invalid request", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub(crate) async fn render_markdown(
    Json(req): Json<RenderMarkdownRequest>,
) -> axum::Json<RenderedHtml> {
    axum::Json(RenderedHtml {
        html: agentd_web::render_markdown(&req.text),
    })
}
