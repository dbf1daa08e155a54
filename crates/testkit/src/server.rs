//! The fake's HTTP side: `/v1/messages`, `/v1/messages/count_tokens` and the
//! `/__testkit/*` control endpoints, on one axum router.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_stream::wrappers::ReceiverStream;

use crate::render::{self, Frame, Resolved};
use crate::script::{Failure, Faults, Reply, Turn};
use crate::state::{RecordedRequest, Shared};

type AppState = Arc<Shared>;

pub(crate) fn router(shared: AppState) -> Router {
    Router::new()
        .route("/v1/messages", post(messages))
        .route("/v1/messages/count_tokens", post(count_tokens))
        .route("/__testkit/replies", post(push_replies))
        .route("/__testkit/default", post(set_default))
        .route("/__testkit/requests", get(list_requests))
        .route("/__testkit/reset", post(reset))
        .fallback(not_found)
        .with_state(shared)
}

/// The few request fields the fake looks at.
#[derive(Deserialize)]
struct RequestProbe {
    #[serde(default)]
    stream: bool,
    #[serde(default)]
    model: Option<String>,
}

struct Incoming {
    request_id: String,
    authorized: bool,
    probe: Option<RequestProbe>,
    body_len: usize,
}

fn receive(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Incoming {
    let mut recorded_headers = BTreeMap::<String, String>::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        recorded_headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let json = serde_json::from_slice::<Value>(body).ok();
    let recorded_body = match (&json, body.is_empty()) {
        (Some(json), _) => json.clone(),
        (None, true) => Value::Null,
        (None, false) => Value::String(String::from_utf8_lossy(body).into_owned()),
    };
    let request_id = shared.record(RecordedRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        headers: recorded_headers,
        body: recorded_body,
    });
    Incoming {
        request_id,
        authorized: headers.contains_key("x-api-key")
            || headers.contains_key(header::AUTHORIZATION),
        probe: json.and_then(|json| serde_json::from_value(json).ok()),
        body_len: body.len(),
    }
}

/// A rough token count, as the real one is about four characters per token.
fn estimate_tokens(bytes: usize) -> u64 {
    (bytes as u64 / 4).max(1)
}

async fn messages(
    State(shared): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let incoming = receive(&shared, &method, &uri, &headers, &body);
    let request_id = incoming.request_id;
    if !incoming.authorized {
        return error_response(
            &Failure::new(401, "authentication_error", "x-api-key header is required"),
            &request_id,
        );
    }
    let Some(probe) = incoming.probe else {
        return error_response(
            &Failure::bad_request("request body is not a valid JSON object"),
            &request_id,
        );
    };
    let reply = shared.next_reply().unwrap_or_else(|| {
        Reply::Failure(Failure::new(
            500,
            "api_error",
            "testkit: no scripted reply left",
        ))
    });
    let turn = match reply {
        Reply::Failure(failure) => return error_response(&failure, &request_id),
        Reply::Turn(turn) => turn,
    };
    let resolved = render::resolve(
        &turn,
        shared.next_message_id(),
        probe.model.as_deref(),
        estimate_tokens(incoming.body_len),
        || shared.next_tool_id(),
    );
    let delay = event_delay(&turn, &shared);
    if probe.stream {
        return sse_response(resolved, turn.faults, delay, &request_id);
    }
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let mut response = Json(render::message_json(&resolved)).into_response();
    response.headers_mut().extend(success_headers(&request_id));
    response
}

fn event_delay(turn: &Turn, shared: &Shared) -> Option<Duration> {
    turn.faults
        .delay_per_event_ms
        .map(Duration::from_millis)
        .or(shared.options.token_delay)
}

/// Streams the turn's frames from a task, so delays and faults happen on
/// the wire as a real connection would show them.
fn sse_response(
    turn: Resolved,
    faults: Faults,
    delay: Option<Duration>,
    request_id: &str,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    tokio::spawn(async move {
        for (i, frame) in render::frames(&turn).iter().enumerate() {
            if faults.disconnect_after == Some(i) {
                // A body error makes hyper abort the connection mid-stream.
                let _ = tx
                    .send(Err(std::io::Error::other("testkit: disconnect")))
                    .await;
                return;
            }
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            if let Some(fault) = faults.error_event_after.as_ref().filter(|f| f.after == i) {
                let _ = tx
                    .send(Ok(Bytes::from(Frame::error(&fault.error_type).to_sse())))
                    .await;
                return;
            }
            let text = if faults.malformed_frame_at == Some(i) {
                render::malformed_frame()
            } else {
                frame.to_sse()
            };
            if tx.send(Ok(Bytes::from(text))).await.is_err() {
                return; // the client went away
            }
        }
    });
    let mut response = Body::from_stream(ReceiverStream::new(rx)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.extend(success_headers(request_id));
    response
}

async fn count_tokens(
    State(shared): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let incoming = receive(&shared, &method, &uri, &headers, &body);
    if !incoming.authorized {
        let failure = Failure::new(401, "authentication_error", "x-api-key header is required");
        return error_response(&failure, &incoming.request_id);
    }
    let mut response =
        Json(json!({"input_tokens": estimate_tokens(incoming.body_len)})).into_response();
    response
        .headers_mut()
        .extend(success_headers(&incoming.request_id));
    response
}

async fn not_found(
    State(shared): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let incoming = receive(&shared, &method, &uri, &headers, &body);
    error_response(
        &Failure::new(404, "not_found_error", format!("Not found: {}", uri.path())),
        &incoming.request_id,
    )
}

/// The API's error body and headers for a failure.
fn error_response(failure: &Failure, request_id: &str) -> Response {
    let body = json!({
        "type": "error",
        "error": {"type": failure.error_type, "message": failure.message},
        "request_id": request_id,
    });
    let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.extend(success_headers(request_id));
    for (name, value) in &failure.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            headers.insert(name, value);
        }
    }
    response
}

/// `request-id` and the `anthropic-ratelimit-*` family every response carries.
fn success_headers(request_id: &str) -> HeaderMap {
    let reset = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        + time::Duration::minutes(1);
    let reset = reset
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    put("request-id", request_id);
    put("anthropic-ratelimit-requests-limit", "4000");
    put("anthropic-ratelimit-requests-remaining", "3999");
    put("anthropic-ratelimit-requests-reset", &reset);
    put("anthropic-ratelimit-tokens-limit", "2000000");
    put("anthropic-ratelimit-tokens-remaining", "2000000");
    put("anthropic-ratelimit-tokens-reset", &reset);
    put("anthropic-ratelimit-input-tokens-limit", "2000000");
    put("anthropic-ratelimit-input-tokens-remaining", "2000000");
    put("anthropic-ratelimit-input-tokens-reset", &reset);
    put("anthropic-ratelimit-output-tokens-limit", "400000");
    put("anthropic-ratelimit-output-tokens-remaining", "400000");
    put("anthropic-ratelimit-output-tokens-reset", &reset);
    headers
}

async fn push_replies(
    State(shared): State<AppState>,
    Json(replies): Json<Vec<Reply>>,
) -> Json<Value> {
    let count = replies.len();
    shared.push(replies);
    Json(json!({"queued": count, "pending": shared.pending()}))
}

async fn set_default(State(shared): State<AppState>, Json(reply): Json<Reply>) -> StatusCode {
    shared.set_default(Some(reply));
    StatusCode::NO_CONTENT
}

async fn list_requests(State(shared): State<AppState>) -> Json<Vec<RecordedRequest>> {
    Json(shared.requests())
}

async fn reset(State(shared): State<AppState>) -> StatusCode {
    shared.reset();
    StatusCode::NO_CONTENT
}

/// The listener every fake serves on, with TCP_NODELAY on each connection:
/// the real APIs flush each streamed event at once, and without it every
/// small SSE frame would wait ~40 ms on Nagle's algorithm and delayed ACKs.
pub(crate) fn nodelay(
    listener: tokio::net::TcpListener,
) -> impl axum::serve::Listener<Addr = std::net::SocketAddr> {
    axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    })
}
