//! The OpenAI fake's HTTP side: `POST /v1/chat/completions` and the same
//! `/__testkit/*` control endpoints as the Anthropic fake.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_stream::wrappers::ReceiverStream;

use crate::openai::render::{self, StreamShape};
use crate::openai::script::{OpenAiReply, Quirk};
use crate::openai::state::OpenAiShared;
use crate::render::resolve;
use crate::script::{Failure, Faults, Reply};
use crate::state::RecordedRequest;

type AppState = Arc<OpenAiShared>;

pub(crate) const COMPLETIONS_PATH: &str = "/v1/chat/completions";

pub(crate) fn router(shared: AppState) -> Router {
    Router::new()
        .route(COMPLETIONS_PATH, post(completions))
        .route("/__testkit/replies", post(push_replies))
        .route("/__testkit/default", post(set_default))
        .route("/__testkit/quirks", post(set_quirks))
        .route("/__testkit/requests", get(list_requests))
        .route("/__testkit/reset", post(reset))
        .fallback(not_found)
        .with_state(shared)
}

/// The few request fields the fake looks at.
#[derive(Default, Deserialize)]
#[serde(default)]
struct RequestProbe {
    stream: bool,
    model: Option<String>,
    stream_options: Option<StreamOptions>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct StreamOptions {
    include_usage: bool,
}

/// Records the request; returns its id and the parsed body, if JSON.
fn receive(
    shared: &OpenAiShared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> (String, Option<Value>) {
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
    let id = shared.recorder.record(RecordedRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        headers: recorded_headers,
        body: recorded_body,
    });
    (id, json)
}

fn has_bearer(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| !token.trim().is_empty())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn completions(
    State(shared): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (request_id, json) = receive(&shared, &method, &uri, &headers, &body);
    if shared.require_auth() && !has_bearer(&headers) {
        let failure = Failure::new(
            401,
            "invalid_request_error",
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        );
        return error_response(&failure, &request_id);
    }
    let Some(probe) = json.and_then(|json| serde_json::from_value::<RequestProbe>(json).ok())
    else {
        let failure = Failure::new(
            400,
            "invalid_request_error",
            "We could not parse the JSON body of your request.",
        );
        return error_response(&failure, &request_id);
    };
    let reply = shared.next_reply().unwrap_or_else(|| {
        Failure::new(500, "server_error", "testkit: no scripted reply left").into()
    });
    let (turn, mut quirks) = match reply {
        OpenAiReply {
            reply: Reply::Failure(failure),
            ..
        } => {
            return error_response(&failure, &request_id);
        }
        OpenAiReply {
            reply: Reply::Turn(turn),
            quirks,
        } => (turn, quirks),
    };
    quirks.extend(shared.quirks());
    let input_estimate = (body.len() as u64 / 4).max(1);
    let resolved = resolve(
        &turn,
        shared.next_completion_id(),
        probe.model.as_deref(),
        input_estimate,
        || shared.next_tool_id(),
    );
    let delay = turn
        .faults
        .delay_per_event_ms
        .map(Duration::from_millis)
        .or(shared.recorder.options.token_delay);
    if !probe.stream {
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let mut response = Json(render::completion_json(&resolved, now_secs())).into_response();
        response.headers_mut().extend(common_headers(&request_id));
        return response;
    }
    let shape = StreamShape {
        quirks,
        include_usage: probe.stream_options.is_some_and(|o| o.include_usage),
        created: now_secs(),
    };
    sse_response(
        render::frames(&resolved, &shape),
        turn.faults,
        delay,
        &request_id,
    )
}

/// Streams the frames from a task, so delays and faults happen on the wire
/// as a real connection would show them. Fault positions count frames,
/// `[DONE]` included, from 0.
fn sse_response(
    frames: Vec<String>,
    faults: Faults,
    delay: Option<Duration>,
    request_id: &str,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    tokio::spawn(async move {
        for (i, frame) in frames.into_iter().enumerate() {
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
                    .send(Ok(Bytes::from(render::error_frame(&fault.error_type))))
                    .await;
                return;
            }
            let text = if faults.malformed_frame_at == Some(i) {
                render::malformed_frame()
            } else {
                frame
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
    headers.extend(common_headers(request_id));
    response
}

async fn not_found(
    State(shared): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (request_id, _) = receive(&shared, &method, &uri, &headers, &body);
    let failure = Failure::new(
        404,
        "invalid_request_error",
        format!("Invalid URL ({method} {})", uri.path()),
    );
    error_response(&failure, &request_id)
}

/// OpenAI's error body, `{"error": {"message", "type", "param", "code"}}`.
fn error_response(failure: &Failure, request_id: &str) -> Response {
    let code = match failure.status {
        401 => Some("invalid_api_key"),
        404 => Some("model_not_found"),
        429 => Some("rate_limit_exceeded"),
        _ => None,
    };
    let body = json!({"error": {
        "message": failure.message, "type": failure.error_type, "param": null, "code": code,
    }});
    let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.extend(common_headers(request_id));
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

fn common_headers(request_id: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::try_from(request_id) {
        headers.insert(HeaderName::from_static("x-request-id"), value);
    }
    headers.insert(
        HeaderName::from_static("openai-processing-ms"),
        HeaderValue::from_static("1"),
    );
    headers
}

async fn push_replies(
    State(shared): State<AppState>,
    Json(replies): Json<Vec<OpenAiReply>>,
) -> Json<Value> {
    let count = replies.len();
    shared.push(replies);
    Json(json!({"queued": count, "pending": shared.pending()}))
}

async fn set_default(State(shared): State<AppState>, Json(reply): Json<OpenAiReply>) -> StatusCode {
    shared.set_default(Some(reply));
    StatusCode::NO_CONTENT
}

async fn set_quirks(State(shared): State<AppState>, Json(quirks): Json<Vec<Quirk>>) -> StatusCode {
    shared.set_quirks(quirks);
    StatusCode::NO_CONTENT
}

async fn list_requests(State(shared): State<AppState>) -> Json<Vec<RecordedRequest>> {
    Json(shared.recorder.requests())
}

async fn reset(State(shared): State<AppState>) -> StatusCode {
    shared.reset();
    StatusCode::NO_CONTENT
}
