//! Extractors that fail with the API's error envelope instead of axum's
//! plain-text rejections.

use agentd_protocol::{ErrorCode, SessionId};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            ApiError::bad_request(ErrorCode::ValidationFailed, e.body_text())
        }
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::bad_request(ErrorCode::InvalidJson, e.body_text())
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "send the body as JSON with Content-Type: application/json",
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                format!("the body is larger than {} bytes", crate::MAX_BODY_BYTES),
            )
        }
        other => ApiError::bad_request(ErrorCode::BadRequest, other.body_text()),
    }
}

/// A session id from the path's `{id}` (other parameters may follow it).
pub struct SessionPath(pub SessionId);

impl<S: Send + Sync> FromRequestParts<S> for SessionPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(params) = axum::extract::Path::<
            std::collections::HashMap<String, String>,
        >::from_request_parts(parts, state)
        .await
        .map_err(|e: PathRejection| ApiError::bad_request(ErrorCode::BadRequest, e.body_text()))?;
        let raw = params.get("id").map(String::as_str).unwrap_or_default();
        raw.parse::<SessionId>().map(Self).map_err(|_| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "session not found",
            )
        })
    }
}

/// Query parameters.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Self(v))
            .map_err(|e: QueryRejection| {
                ApiError::bad_request(ErrorCode::ValidationFailed, e.body_text())
            })
    }
}

/// A session from the path that the caller may reach (their own, or any for
/// an admin). Someone else's session is `404 not_found`, exactly like a
/// missing one. Runs before the body is read, so a stranger learns nothing
/// from validation errors either.
pub struct OwnedSession {
    pub id: SessionId,
    pub view: agentd_protocol::SessionView,
    pub caller: crate::auth::Caller,
}

impl FromRequestParts<crate::state::AppState> for OwnedSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::state::AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = crate::auth::Caller::from_request_parts(parts, state).await?;
        let SessionPath(id) = SessionPath::from_request_parts(parts, state).await?;
        let view = state.manager.session_within(id, caller.reach()).await?;
        Ok(Self { id, view, caller })
    }
}
