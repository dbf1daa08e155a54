//! The Anthropic fake's HTTP side: `/v1/messages`,
//! `/v1/messages/count_tokens` and the `/__testkit/*` control endpoints, on
//! one axum router.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::anthropic::render::{self, Frame};
use crate::http::RequestId;
use crate::model::{Script, Scripted, control_routes, failure_response};
use crate::resolve::resolve;
use crate::script::{Failure, Reply};
use crate::stream::{FaultFrames, event_delay, sse_response};

type AppState = Arc<Script<Reply>>;

impl Scripted for Script<Reply> {
    type Reply = Reply;

    fn script(&self) -> &Self {
        self
    }
}

pub(crate) const MESSAGES_PATH: &str = "/v1/messages";

pub(crate) fn router(shared: AppState) -> Router {
    Router::new()
        .route(MESSAGES_PATH, post(messages))
        .route("/v1/messages/count_tokens", post(count_tokens))
        .merge(control_routes(shared.clone()))
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

/// The API's 401 for a request with neither `x-api-key` nor
/// `Authorization`.
fn unauthorized(headers: &HeaderMap, request_id: &str) -> Option<Response> {
    let authorized =
        headers.contains_key("x-api-key") || headers.contains_key(header::AUTHORIZATION);
    let failure = Failure::new(401, "authentication_error", "x-api-key header is required");
    (!authorized).then(|| error_response(&failure, request_id))
}

/// A rough token count, as the real one is about four characters per token.
fn estimate_tokens(bytes: usize) -> u64 {
    (bytes as u64 / 4).max(1)
}

async fn messages(
    State(shared): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refusal) = unauthorized(&headers, &request_id) {
        return refusal;
    }
    let Ok(probe) = serde_json::from_slice::<RequestProbe>(&body) else {
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
    let resolved = resolve(
        &turn,
        format!("msg_testkit_{:04}", shared.next_message_number()),
        probe.model.as_deref(),
        estimate_tokens(body.len()),
        || format!("toolu_{:02}", shared.next_tool_number()),
    );
    let delay = event_delay(&turn.faults, &shared.options);
    if probe.stream {
        let frames = render::frames(&resolved)
            .iter()
            .map(Frame::to_sse)
            .collect();
        let fault_frames = FaultFrames {
            error: |error_type| Frame::error(error_type).to_sse(),
            malformed: render::malformed_frame,
        };
        let headers = success_headers(&request_id);
        return sse_response(frames, turn.faults, delay, fault_frames, headers);
    }
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let mut response = Json(render::message_json(&resolved)).into_response();
    response.headers_mut().extend(success_headers(&request_id));
    response
}

async fn count_tokens(
    Extension(RequestId(request_id)): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refusal) = unauthorized(&headers, &request_id) {
        return refusal;
    }
    let mut response = Json(json!({"input_tokens": estimate_tokens(body.len())})).into_response();
    response.headers_mut().extend(success_headers(&request_id));
    response
}

async fn not_found(Extension(RequestId(request_id)): Extension<RequestId>, uri: Uri) -> Response {
    error_response(
        &Failure::new(404, "not_found_error", format!("Not found: {}", uri.path())),
        &request_id,
    )
}

/// The API's error body and headers for a failure.
fn error_response(failure: &Failure, request_id: &str) -> Response {
    let body = json!({
        "type": "error",
        "error": {"type": failure.error_type, "message": failure.message},
        "request_id": request_id,
    });
    failure_response(failure, body, success_headers(request_id))
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
