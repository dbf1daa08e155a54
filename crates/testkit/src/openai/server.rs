//! The OpenAI fake's HTTP side: `POST /v1/chat/completions` and the same
//! `/__testkit/*` control endpoints as the Anthropic fake.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::http::RequestId;
use crate::model::{control_routes, failure_response};
use crate::openai::render::{self, StreamShape};
use crate::openai::script::{OpenAiReply, Quirk};
use crate::openai::state::OpenAiShared;
use crate::resolve::resolve;
use crate::script::{Failure, Reply};
use crate::stream::{FaultFrames, event_delay, sse_response};

type AppState = Arc<OpenAiShared>;

pub(crate) const COMPLETIONS_PATH: &str = "/v1/chat/completions";

pub(crate) fn router(shared: AppState) -> Router {
    Router::new()
        .route(COMPLETIONS_PATH, post(completions))
        .route("/__testkit/quirks", post(set_quirks))
        .merge(control_routes(shared.clone()))
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
    Extension(RequestId(request_id)): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if shared.require_auth() && !has_bearer(&headers) {
        let failure = Failure::new(
            401,
            "invalid_request_error",
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        );
        return error_response(&failure, &request_id);
    }
    let Ok(probe) = serde_json::from_slice::<RequestProbe>(&body) else {
        let failure = Failure::new(
            400,
            "invalid_request_error",
            "We could not parse the JSON body of your request.",
        );
        return error_response(&failure, &request_id);
    };
    let reply = shared.script.next_reply().unwrap_or_else(|| {
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
        format!(
            "chatcmpl-testkit-{:04}",
            shared.script.next_message_number()
        ),
        probe.model.as_deref(),
        input_estimate,
        || format!("call_testkit_{:02}", shared.script.next_tool_number()),
    );
    let delay = event_delay(&turn.faults, &shared.script.options);
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
    let fault_frames = FaultFrames {
        error: render::error_frame,
        malformed: render::malformed_frame,
    };
    sse_response(
        render::frames(&resolved, &shape),
        turn.faults,
        delay,
        fault_frames,
        common_headers(&request_id),
    )
}

async fn not_found(
    Extension(RequestId(request_id)): Extension<RequestId>,
    method: Method,
    uri: Uri,
) -> Response {
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
    failure_response(failure, body, common_headers(request_id))
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

async fn set_quirks(State(shared): State<AppState>, Json(quirks): Json<Vec<Quirk>>) -> StatusCode {
    shared.set_quirks(quirks);
    StatusCode::NO_CONTENT
}
