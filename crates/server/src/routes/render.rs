//! `POST /api/v1/render/markdown` and `/render/diff`: the web UI's
//! renderers. Markdown: The page
//! streams text as it arrives and asks for the HTML of a message (throttled
//! while it streams, once more when it completes), so Markdown parsing and
//! sanitising live in one Rust place (`agentd-web`) rather than in
//! JavaScript. Diffs: an edit card shows the unified diff of its tool's
//! input (old and new text), made by `similar`.
//!
//! Both run through [`crate::cpu`]: off the async workers, one per core,
//! within the render budget (`422 too_complex` past it).

use agentd_protocol::{
    ErrorBody, ErrorCode, RenderDiffRequest, RenderMarkdownRequest, RenderedDiff, RenderedHtml,
};

use axum::extract::State;

use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

/// Render Markdown as sanitized HTML (no scripts, styles or event handlers).
#[utoipa::path(post, path = "/api/v1/render/markdown", tag = "ui",
    request_body = RenderMarkdownRequest,
    responses(
        (status = 200, description = "The sanitized HTML", body = RenderedHtml),
        (status = 400, description = "Invalid request", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 422, description = "Not rendered within the time budget (`too_complex`)", body = ErrorBody),
        (status = 503, description = "Every core is busy rendering; try again", body = ErrorBody),
    ))]
pub(crate) async fn render_markdown(
    State(state): State<AppState>,
    Json(req): Json<RenderMarkdownRequest>,
) -> Result<axum::Json<RenderedHtml>, ApiError> {
    let html = state
        .cpu
        .run(move |deadline| agentd_web::render_markdown_until(&req.text, deadline))
        .await?;
    Ok(axum::Json(RenderedHtml { html }))
}

/// The unified diff from `old` to `new`.
#[utoipa::path(post, path = "/api/v1/render/diff", tag = "ui",
    request_body = RenderDiffRequest,
    responses(
        (status = 200, description = "The unified diff", body = RenderedDiff),
        (status = 400, description = "Invalid request, or a side too large to diff", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 422, description = "Not rendered within the time budget (`too_complex`)", body = ErrorBody),
        (status = 503, description = "Every core is busy rendering; try again", body = ErrorBody),
    ))]
pub(crate) async fn render_diff(
    State(state): State<AppState>,
    Json(req): Json<RenderDiffRequest>,
) -> Result<axum::Json<RenderedDiff>, ApiError> {
    // `similar` gives up on an exact diff after its own short timeout and
    // approximates, so the job ends well within the budget.
    let diff = state
        .cpu
        .run(move |_| Ok(agentd_web::unified_diff(&req.path, &req.old, &req.new)))
        .await?;
    let diff = diff.ok_or_else(|| {
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
