//! The web UI's files (from `agentd-web`), served at `/` outside `/api`.
//! Every response carries the Content-Security-Policy; files revalidate by
//! ETag (`no-cache`) because their names carry no version, so a new binary
//! is picked up on the next load, and the service worker keeps a copy for
//! offline use.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error;

/// The fallback for every path no route matched.
pub(crate) async fn serve(req: Request) -> Response {
    let path = req.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        return error::not_found().await.into_response();
    }
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return error::method_not_allowed().await.into_response();
    }
    let Some(asset) = agentd_web::asset(path) else {
        return error::not_found().await.into_response();
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(agentd_web::CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Ok(etag) = HeaderValue::from_str(&asset.etag) {
        let fresh = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .is_some_and(|v| v.as_bytes() == etag.as_bytes());
        headers.insert(header::ETAG, etag);
        if fresh {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
    }
    if *req.method() == Method::HEAD {
        return (StatusCode::OK, headers).into_response();
    }
    (StatusCode::OK, headers, asset.bytes.into_owned()).into_response()
}
