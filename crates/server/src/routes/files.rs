//! `/api/v1/sessions/{id}/files…`: list, download, upload and archive the
//! files of a session's workspace. The path rule (relative, no `..`, no
//! `.git`, symlinks must stay inside) lives in `agentd-files`.

use std::path::Path;

use agentd_files::{ArchiveFormat, RelPath, Tree};
use agentd_protocol::event::FileChanged;
use agentd_protocol::{ErrorBody, FileList, UploadedFile};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::download::{self, Disposition};
use crate::error::ApiError;
use crate::extract::{OwnedSession, Query};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DirParams {
    /// A directory, relative to the workspace root (default: the root).
    path: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FileParams {
    /// A file, relative to the workspace root.
    path: String,
    /// `1` (or `true`) to ask the browser to save the file rather than show it.
    download: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ArchiveParams {
    /// A directory, relative to the workspace root (default: the root).
    path: Option<String>,
    /// `tar` (default) or `zip`.
    // Inline: utoipa does not register a parameter's schema as a component,
    // so a `$ref` here would dangle.
    #[param(inline)]
    format: Option<Format>,
}

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    Tar,
    Zip,
}

fn tree(session: &OwnedSession) -> Result<Tree, ApiError> {
    Ok(Tree::open(Path::new(&session.view.workspace_path))?)
}

fn rel(raw: Option<&str>) -> Result<RelPath, ApiError> {
    Ok(RelPath::parse(raw.unwrap_or_default())?)
}

/// One level of a directory of the workspace; `.git` is never listed.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/files", tag = "files",
    params(("id" = String, Path, description = "Session id"), DirParams),
    responses(
        (status = 200, description = "The directory's entries, directories first", body = FileList),
        (status = 400, description = "A path outside the workspace, into .git, or not a directory", body = ErrorBody),
        (status = 404, description = "No such session or directory", body = ErrorBody),
    ))]
pub(crate) async fn list_files(
    session: OwnedSession,
    Query(params): Query<DirParams>,
) -> Result<axum::Json<FileList>, ApiError> {
    let tree = tree(&session)?;
    let list = agentd_files::list(&tree, &rel(params.path.as_deref())?).await?;
    Ok(axum::Json(list))
}

/// A file's bytes, streamed.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/files/content", tag = "files",
    params(("id" = String, Path, description = "Session id"), FileParams),
    responses(
        (status = 200, description = "The file. Its type follows the name's extension: text is `text/plain; charset=utf-8` (never HTML or SVG), a few inert image formats and PDF are named, the rest is `application/octet-stream`",
            content(
                ("application/octet-stream"),
                ("text/plain"),
                ("image/png"),
                ("image/jpeg"),
                ("image/gif"),
                ("image/webp"),
                ("application/pdf"),
            )),
        (status = 400, description = "A path outside the workspace, into .git, or not a file", body = ErrorBody),
        (status = 404, description = "No such session or file", body = ErrorBody),
    ))]
pub(crate) async fn get_content(
    session: OwnedSession,
    Query(params): Query<FileParams>,
) -> Result<Response, ApiError> {
    let tree = tree(&session)?;
    let opened = agentd_files::open_file(&tree, &rel(Some(&params.path))?).await?;
    let disposition = match params.download.as_deref() {
        Some("1" | "true" | "yes") => Disposition::Attachment,
        _ => Disposition::Inline,
    };
    Ok(download::file_response(opened, disposition))
}

/// Write a file (the raw request body), creating missing directories.
/// Allowed while a turn runs (the agent may then overwrite it); recorded as
/// a `file.changed` event.
#[utoipa::path(put, path = "/api/v1/sessions/{id}/files/content", tag = "files",
    params(("id" = String, Path, description = "Session id"), FileParams),
    request_body(content = String, content_type = "application/octet-stream",
        description = "The file's bytes, up to the server's upload limit (default 25 MiB)"),
    responses(
        (status = 201, description = "Written", body = UploadedFile),
        (status = 400, description = "A path outside the workspace, into .git, or a directory", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
        (status = 413, description = "Larger than the upload limit; nothing was written", body = ErrorBody),
    ))]
pub(crate) async fn put_content(
    State(state): State<AppState>,
    session: OwnedSession,
    Query(params): Query<FileParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, axum::Json<UploadedFile>), ApiError> {
    let limit = state.max_upload_bytes;
    // Refuse a declared oversize body before reading any of it; a body
    // without a length is counted as it streams.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(agentd_files::FilesError::TooLarge { limit }.into());
    }
    let tree = tree(&session)?;
    let rel = rel(Some(&params.path))?;
    let done = agentd_files::upload(&tree, &rel, body.into_data_stream(), limit).await?;
    let change = FileChanged {
        path: done.path.clone(),
        change: done.change,
        lines_added: done.lines_added,
        lines_removed: done.lines_removed,
    };
    // The file is written either way; a missing event is worth a log line,
    // not a failed upload.
    if let Err(e) = state.manager.record_file_change(session.id, change).await {
        tracing::warn!(session = %session.id, error = %e, "could not record an upload's file.changed event");
    }
    Ok((
        StatusCode::CREATED,
        axum::Json(UploadedFile {
            path: done.path,
            size: done.size,
        }),
    ))
}

/// A directory as a tar or zip archive, streamed; `.git` is left out and
/// symlinks are stored as links.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/files/archive", tag = "files",
    params(("id" = String, Path, description = "Session id"), ArchiveParams),
    responses(
        (status = 200, description = "The archive: `application/x-tar` for `format=tar`, `application/zip` for `format=zip`",
            content(("application/x-tar"), ("application/zip"))),
        (status = 400, description = "A path outside the workspace, into .git, or not a directory", body = ErrorBody),
        (status = 404, description = "No such session or directory", body = ErrorBody),
    ))]
pub(crate) async fn get_archive(
    session: OwnedSession,
    Query(params): Query<ArchiveParams>,
) -> Result<Response, ApiError> {
    let tree = tree(&session)?;
    let rel = rel(params.path.as_deref())?;
    let format = match params.format.unwrap_or(Format::Tar) {
        Format::Tar => ArchiveFormat::Tar,
        Format::Zip => ArchiveFormat::Zip,
    };
    let stream = agentd_files::archive(&tree, &rel, format).await?;
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    let name = format!(
        "{}.{}",
        rel.name().unwrap_or("workspace"),
        format.extension()
    );
    download::set_download_headers(headers, Disposition::Attachment, &name);
    Ok(response)
}
