//! Serving workspace files: the error mapping of the files API and the
//! response headers of a download.
//!
//! Workspace files are whatever the agent wrote, so they are served as
//! inert data: a content type is named only for formats a browser cannot
//! run (text is `text/plain`, never HTML or SVG), `nosniff` stops guessing,
//! and a `sandbox` CSP keeps even a rendered file away from the API
//! origin's cookies.

use agentd_files::{FilesError, OpenedFile};
use agentd_protocol::ErrorCode;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

impl From<FilesError> for ApiError {
    fn from(e: FilesError) -> Self {
        let (status, code) = match &e {
            FilesError::Invalid(_) => (StatusCode::BAD_REQUEST, ErrorCode::ValidationFailed),
            FilesError::OutsideWorkspace { .. } => {
                (StatusCode::BAD_REQUEST, ErrorCode::PathOutsideWorkspace)
            }
            FilesError::Protected { .. } => (StatusCode::BAD_REQUEST, ErrorCode::PathProtected),
            FilesError::NotFound { .. } => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            FilesError::NotAFile { .. } => (StatusCode::BAD_REQUEST, ErrorCode::NotAFile),
            FilesError::NotADirectory { .. } => (StatusCode::BAD_REQUEST, ErrorCode::NotADirectory),
            FilesError::PermissionDenied { .. } => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
            FilesError::TooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge)
            }
            FilesError::Interrupted(_) => (StatusCode::BAD_REQUEST, ErrorCode::BadRequest),
            FilesError::Io(inner) => {
                tracing::error!(error = %inner, "workspace I/O error while serving a request");
                (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal)
            }
        };
        ApiError::new(status, code, e.to_string())
    }
}

/// Whether the browser should show the file or save it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Disposition {
    Inline,
    Attachment,
}

/// The file as a streamed response.
pub(crate) fn file_response(opened: OpenedFile, disposition: Disposition) -> Response {
    let content_type = content_type(&opened.name);
    let name = opened.name.clone();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(opened.file));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(opened.size));
    set_download_headers(headers, disposition, &name);
    response
}

/// `Content-Disposition` (with the name in both spellings of RFC 6266) and
/// the headers that keep a download inert.
pub(crate) fn set_download_headers(
    headers: &mut axum::http::HeaderMap,
    disposition: Disposition,
    name: &str,
) {
    let kind = match disposition {
        Disposition::Inline => "inline",
        Disposition::Attachment => "attachment",
    };
    let value = format!(
        "{kind}; filename=\"{}\"; filename*=UTF-8''{}",
        ascii_name(name),
        percent_encode(name)
    );
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// A type for formats that cannot run script; everything else is opaque
/// bytes.
fn content_type(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "txt" | "md" | "markdown" | "rst" | "log" | "csv" | "tsv" | "json" | "jsonl" | "toml"
        | "yaml" | "yml" | "ini" | "cfg" | "lock" | "rs" | "py" | "rb" | "go" | "java" | "kt"
        | "c" | "h" | "cc" | "cpp" | "hpp" | "cs" | "ts" | "tsx" | "js" | "jsx" | "mjs" | "css"
        | "sh" | "bash" | "zsh" | "sql" | "diff" | "patch" | "swift" | "php" | "lua" => {
            "text/plain; charset=utf-8"
        }
        _ => "application/octet-stream",
    }
}

/// The name with anything outside printable ASCII (and quotes, backslashes)
/// replaced, for the plain `filename=` parameter.
fn ascii_name(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect()
}

/// RFC 5987 encoding for `filename*=`.
fn percent_encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_formats_are_never_named() {
        assert_eq!(content_type("index.html"), "application/octet-stream");
        assert_eq!(content_type("logo.svg"), "application/octet-stream");
        assert_eq!(content_type("README.MD"), "text/plain; charset=utf-8");
        assert_eq!(content_type("shot.PNG"), "image/png");
        assert_eq!(content_type("Makefile"), "application/octet-stream");
    }

    #[test]
    fn names_are_safe_in_the_header() {
        let mut headers = axum::http::HeaderMap::new();
        set_download_headers(&mut headers, Disposition::Attachment, "ré\"port\r\n.txt");
        assert_eq!(
            headers[header::CONTENT_DISPOSITION],
            "attachment; filename=\"r__port__.txt\"; filename*=UTF-8''r%C3%A9%22port%0D%0A.txt"
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
}
