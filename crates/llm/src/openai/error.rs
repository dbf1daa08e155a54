//! Non-2xx Chat Completions responses as [`LlmError::Api`]. The kind comes
//! from the status, since servers disagree on `error.type` (OpenAI says
//! `invalid_request_error` for a missing model, Ollama says `api_error`).

use std::time::{Duration, SystemTime};

use crate::error::{ApiErrorKind, LlmError};
use crate::openai::wire::{ErrorBody, ErrorField};
use crate::retry::{server_hint, should_retry_status};

/// Reads a non-2xx response into [`LlmError::Api`], deciding retry policy
/// from its status and headers as the official SDK does.
pub(crate) async fn api_error(response: reqwest::Response) -> LlmError {
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let should_retry = header("x-should-retry");
    let retry_after = server_hint(
        header("retry-after-ms").as_deref(),
        header("retry-after").as_deref(),
        SystemTime::now(),
    );
    let request_id = header("x-request-id");
    // The body of an error is small; a failure to read it leaves the status to speak.
    let text = tokio::time::timeout(Duration::from_secs(10), response.text())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    from_parts(
        status,
        &text,
        request_id,
        should_retry.as_deref(),
        retry_after,
    )
}

fn from_parts(
    status: u16,
    body: &str,
    request_id: Option<String>,
    should_retry: Option<&str>,
    retry_after: Option<Duration>,
) -> LlmError {
    let mut kind = ApiErrorKind::from_status(status);
    let mut retryable = should_retry_status(status, should_retry);
    let message = match serde_json::from_str::<ErrorBody>(body).map(|b| b.error) {
        Ok(ErrorField::Detail(detail)) => {
            if detail.is_insufficient_quota() {
                // A 429 for an empty account: waiting will not help.
                kind = ApiErrorKind::Billing;
                retryable = false;
            }
            detail.message.unwrap_or_default()
        }
        Ok(ErrorField::Text(message)) => message,
        Err(_) => body.chars().take(500).collect(),
    };
    LlmError::Api {
        status,
        kind,
        message,
        request_id,
        retryable,
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn statuses_decide_the_kind_and_retry() {
        let body = r#"{"error":{"message":"The model `x` does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#;
        assert_eq!(
            from_parts(404, body, Some("req_1".into()), None, None),
            LlmError::Api {
                status: 404,
                kind: ApiErrorKind::NotFound,
                message: "The model `x` does not exist".into(),
                request_id: Some("req_1".into()),
                retryable: false,
                retry_after: None,
            }
        );
        let kinds: Vec<(ApiErrorKind, bool)> = [400, 401, 429, 500, 503]
            .into_iter()
            .map(|status| match from_parts(status, "", None, None, None) {
                LlmError::Api {
                    kind, retryable, ..
                } => (kind, retryable),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                (ApiErrorKind::InvalidRequest, false),
                (ApiErrorKind::Authentication, false),
                (ApiErrorKind::RateLimit, true),
                (ApiErrorKind::Api, true),
                (ApiErrorKind::Api, true),
            ]
        );
    }

    #[test]
    fn an_empty_quota_is_billing_and_final() {
        let body = r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
        let err = from_parts(429, body, None, None, None);
        assert!(
            matches!(
                err,
                LlmError::Api {
                    kind: ApiErrorKind::Billing,
                    retryable: false,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn text_and_non_json_bodies_become_the_message() {
        let err = from_parts(
            404,
            r#"{"error":"model \"x\" not found"}"#,
            None,
            None,
            None,
        );
        assert!(
            matches!(err, LlmError::Api { ref message, .. } if message == "model \"x\" not found")
        );
        let err = from_parts(502, "<html>Bad Gateway</html>", None, None, None);
        assert!(
            matches!(err, LlmError::Api { ref message, .. } if message.contains("Bad Gateway"))
        );
    }
}
