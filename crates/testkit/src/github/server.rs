//! The GitHub fake's HTTP side: a middleware that checks credentials and
//! plays scripted failures (every request is recorded before it), then the
//! few REST routes agentd uses, answering with GitHub's shapes and error
//! bodies.

use std::sync::Arc;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::github::render::{comment_json, pull_json};
use crate::github::state::{GitHubShared, PullInput, Refusal};
use crate::github::{GitHubFailure, PullStatus};
use crate::http::insert_headers;

pub(crate) struct AppState {
    pub shared: Arc<GitHubShared>,
    /// `http://127.0.0.1:PORT`, for the API URLs inside objects.
    pub api_base: String,
}

type Shared = Arc<AppState>;

const DOCS: &str = "https://docs.github.com/rest";
/// Bodies larger than this are refused, as GitHub caps them too.
const BODY_LIMIT: usize = 25 * 1024 * 1024;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route(
            "/repos/{owner}/{repo}/pulls",
            post(create_pull).get(list_pulls),
        )
        .route("/repos/{owner}/{repo}/pulls/{number}", get(get_pull))
        .route(
            "/repos/{owner}/{repo}/issues/{number}/comments",
            post(create_comment),
        )
        .route(
            "/repos/{owner}/{repo}/issues/comments/{id}",
            patch(edit_comment),
        )
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), gatekeeper))
        .with_state(state)
}

/// Refuses bodies over GitHub's limit, answers 401 for missing or wrong
/// credentials and plays the next scripted failure, before any route runs.
async fn gatekeeper(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "Payload too large", None);
    };
    if let Some(message) = unauthorized(&parts.headers, state.shared.token().as_deref()) {
        return error(StatusCode::UNAUTHORIZED, message, None);
    }
    if let Some(failure) = state.shared.next_failure() {
        return failure_response(&failure);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// GitHub's two 401 messages: no credentials, or credentials it rejects.
fn unauthorized(headers: &HeaderMap, expected: Option<&str>) -> Option<&'static str> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Some("Requires authentication");
    };
    let value = value.to_str().unwrap_or_default();
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("token "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    match (token, expected) {
        (Some(token), Some(expected)) if token == expected => None,
        (Some(_), None) => None,
        _ => Some("Bad credentials"),
    }
}

/// `{"message", "documentation_url", "status"}`, plus `errors` for 422s.
fn error(status: StatusCode, message: &str, errors: Option<Value>) -> Response {
    let mut body = json!({
        "message": message,
        "documentation_url": DOCS,
        "status": status.as_u16().to_string(),
    });
    if let (Some(errors), Some(object)) = (errors, body.as_object_mut()) {
        object.insert("errors".into(), errors);
    }
    (status, Json(body)).into_response()
}

fn refusal(refusal: Refusal, resource: &str) -> Response {
    match refusal {
        Refusal::NotFound => error(StatusCode::NOT_FOUND, "Not Found", None),
        Refusal::BadJson => error(StatusCode::BAD_REQUEST, "Problems parsing JSON", None),
        Refusal::Invalid {
            field,
            code,
            message,
        } => {
            let mut entry = json!({"resource": resource, "code": code});
            if let Some(object) = entry.as_object_mut() {
                if let Some(field) = field {
                    object.insert("field".into(), json!(field));
                }
                if let Some(message) = message {
                    object.insert("message".into(), json!(message));
                }
            }
            error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Validation Failed",
                Some(json!([entry])),
            )
        }
    }
}

fn failure_response(failure: &GitHubFailure) -> Response {
    let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = error(status, &failure.message, None);
    insert_headers(
        response.headers_mut(),
        failure.headers.iter().map(|(name, value)| (name, value)),
    );
    response
}

#[derive(Deserialize)]
struct CreatePullBody {
    #[serde(default)]
    title: String,
    #[serde(default)]
    head: String,
    #[serde(default)]
    base: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    draft: bool,
}

async fn create_pull(
    State(state): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Ok(input) = serde_json::from_slice::<CreatePullBody>(&body) else {
        return refusal(Refusal::BadJson, "PullRequest");
    };
    let input = PullInput {
        title: input.title,
        head: input.head,
        base: input.base,
        body: input.body,
        draft: input.draft,
    };
    match state.shared.create_pull(&format!("{owner}/{repo}"), input) {
        Ok(pull) => {
            let mut response =
                (StatusCode::CREATED, Json(pull_json(&state, &pull))).into_response();
            if let Ok(location) = HeaderValue::try_from(format!(
                "{}/repos/{}/pulls/{}",
                state.api_base, pull.repo, pull.number
            )) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        Err(err) => refusal(err, "PullRequest"),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    head: Option<String>,
    #[serde(default)]
    base: Option<String>,
    #[serde(default)]
    per_page: Option<usize>,
}

async fn list_pulls(
    State(state): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<ListQuery>,
) -> Response {
    let wanted = query.state.as_deref().unwrap_or("open");
    let pulls: Vec<Value> = state
        .shared
        .pulls(&format!("{owner}/{repo}"))
        .iter()
        .rev() // newest first, GitHub's default order
        .filter(|p| match wanted {
            "all" => true,
            "closed" => p.status != PullStatus::Open,
            _ => p.status == PullStatus::Open,
        })
        // GitHub ignores a `head` without `owner:`, returning every pull
        // request; the fake does too, so a client that forgets the owner
        // fails here as it would there.
        .filter(|p| match query.head.as_deref() {
            Some(head) if head.contains(':') => p.head_label().eq_ignore_ascii_case(head),
            _ => true,
        })
        .filter(|p| query.base.as_deref().is_none_or(|base| p.base == base))
        .take(query.per_page.unwrap_or(30).clamp(1, 100))
        .map(|p| {
            let mut json = pull_json(&state, p);
            // List items carry no `merged` flag, only `merged_at`.
            if let Some(object) = json.as_object_mut() {
                object.remove("merged");
            }
            json
        })
        .collect();
    Json(pulls).into_response()
}

async fn get_pull(
    State(state): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, String)>,
) -> Response {
    let pull = number
        .parse()
        .ok()
        .and_then(|n| state.shared.pull(&format!("{owner}/{repo}"), n));
    match pull {
        Some(pull) => Json(pull_json(&state, &pull)).into_response(),
        None => refusal(Refusal::NotFound, "PullRequest"),
    }
}

#[derive(Deserialize)]
struct CommentBody {
    #[serde(default)]
    body: Option<String>,
}

fn comment_text(body: &Bytes) -> Result<String, Refusal> {
    let parsed = serde_json::from_slice::<CommentBody>(body).map_err(|_| Refusal::BadJson)?;
    parsed.body.ok_or(Refusal::Invalid {
        field: Some("body"),
        code: "missing_field",
        message: None,
    })
}

async fn create_comment(
    State(state): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let Ok(number) = number.parse::<u64>() else {
        return refusal(Refusal::NotFound, "Issue");
    };
    let text = match comment_text(&body) {
        Ok(text) => text,
        Err(err) => return refusal(err, "IssueComment"),
    };
    match state
        .shared
        .add_comment(&format!("{owner}/{repo}"), number, text)
    {
        Ok(comment) => (StatusCode::CREATED, Json(comment_json(&state, &comment))).into_response(),
        Err(err) => refusal(err, "IssueComment"),
    }
}

async fn edit_comment(
    State(state): State<Shared>,
    Path((owner, repo, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return refusal(Refusal::NotFound, "IssueComment");
    };
    let text = match comment_text(&body) {
        Ok(text) => text,
        Err(err) => return refusal(err, "IssueComment"),
    };
    match state
        .shared
        .edit_comment(&format!("{owner}/{repo}"), id, text)
    {
        Ok(comment) => Json(comment_json(&state, &comment)).into_response(),
        Err(err) => refusal(err, "IssueComment"),
    }
}

async fn not_found() -> Response {
    refusal(Refusal::NotFound, "")
}
