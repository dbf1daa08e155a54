//! `POST /api/v1/render/markdown` and `/render/diff`: the web UI's
//! renderers. Markdown: The page
//! streams text as it arrives and asks for the HTML of a message (throttled
//! while it streams, once more when it completes), so Markdown parsing and
//! sanitising live in one Rust place (`agentd-web`) rather than in
//! JavaScript. Diffs: an edit card shows the unified diff of its tool's
//! input (old and new text), made by `similar`.

use agentd_protocol::{
    ErrorBody, ErrorCode, RenderDiffRequest, RenderMarkdownRequest, RenderedDiff, RenderedHtml,
};

use crate::error::ApiError;
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

/// The unified diff from `old` to `new`.
#[utoipa::path(post, path = "/api/v1/render/diff", tag = "ui",
    request_body = RenderDiffRequest,
    responses(
        (status = 200, description = "The unified diff", body = RenderedDiff),
        (status = 400, description = "Invalid request, or a side too large to diff", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub(crate) async fn render_diff(
    Json(req): Json<RenderDiffRequest>,
) -> Result<axum::Json<RenderedDiff>, ApiError> {
    let diff = agentd_web::unified_diff(&req.path, &req.old, &req.new).ok_or_else(|| {
        ApiError::bad_request(
            ErrorCode::ValidationFailed,
            format!(
                "each side may be at most {} bytes",
                agentd_web::MAX_DIFF_BYTES
            ),
        )
    })?;
    Ok(axum::Json(RenderedDiff { diff }))
}
