//! What a turn's `result` message means for agentd: stop reason, usage
//! and a stable error code.

use agentd_protocol::{ErrorCode, EventData, TurnStopReason, Usage};

use crate::wire::{ApiErrorKind, ResultMessage, ResultSubtype, StopReason, TerminalReason};

/// What [`crate::ClaudeProcess::next`] yields.
#[derive(Clone, Debug, PartialEq)]
pub enum ClaudeEvent {
    /// A CLI message mapped to agentd's vocabulary.
    Event(EventData),
    /// One per `result` message: the turn is over.
    TurnEnded(TurnResult),
    /// The process ended; mid-turn this means it died. Always the last item.
    Exited {
        code: Option<i32>,
        stderr_tail: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct TurnResult {
    pub stop: TurnStopReason,
    /// This turn alone: tokens from `result.usage`, cost from
    /// `model_usage_since_last_result` (or the growth of `total_cost_usd`).
    pub usage: Usage,
    /// The turn failed; `error` says why. A cancelled turn is not an error.
    pub is_error: bool,
    pub error: Option<(ErrorCode, String)>,
    /// The Claude session id, for `SpawnOptions::resume`.
    pub session_id: String,
    /// The final assistant text.
    pub text: String,
}

/// Context from outside the `result` line itself.
pub(crate) struct ResultContext {
    /// We sent `interrupt` during this turn.
    pub interrupted: bool,
    /// The `error` of a synthetic assistant message earlier in the turn.
    pub api_error: Option<ApiErrorKind>,
    /// `total_cost_usd` of the previous result of this process.
    pub previous_total_cost: Option<f64>,
}

pub(crate) fn turn_result(result: ResultMessage, ctx: &ResultContext) -> TurnResult {
    let usage = Usage {
        input_tokens: result.usage.input_tokens,
        output_tokens: result.usage.output_tokens,
        cache_read_tokens: result.usage.cache_read_input_tokens,
        cache_write_tokens: result.usage.cache_creation_input_tokens,
        cost_usd: turn_cost(&result, ctx.previous_total_cost),
    };
    let cancelled = ctx.interrupted
        || matches!(
            result.terminal_reason,
            Some(TerminalReason::AbortedStreaming | TerminalReason::AbortedTools)
        );
    let max_turns = matches!(result.subtype, ResultSubtype::ErrorMaxTurns)
        || matches!(result.terminal_reason, Some(TerminalReason::MaxTurns));
    let (stop, error) = if cancelled {
        (TurnStopReason::Cancelled, None)
    } else if max_turns {
        // A limit, not a failure: the session can go on with another message.
        (TurnStopReason::MaxTurns, None)
    } else if result.is_error {
        (
            TurnStopReason::Error,
            Some(error_of(&result, ctx.api_error)),
        )
    } else {
        let stop = match result.stop_reason {
            Some(StopReason::MaxTokens) => TurnStopReason::MaxTokens,
            Some(StopReason::Refusal) => TurnStopReason::Refusal,
            Some(
                StopReason::EndTurn
                | StopReason::StopSequence
                | StopReason::ToolUse
                | StopReason::PauseTurn
                | StopReason::Other,
            )
            | None => TurnStopReason::EndTurn,
        };
        (stop, None)
    };
    TurnResult {
        stop,
        usage,
        is_error: error.is_some(),
        error,
        session_id: result.session_id,
        text: result.result.unwrap_or_default(),
    }
}

/// `total_cost_usd` is cumulative over the CLI session (resumed history
/// included), so prefer the per-turn breakdown newer CLIs send.
fn turn_cost(result: &ResultMessage, previous_total: Option<f64>) -> f64 {
    if let Some(models) = &result.model_usage_since_last_result {
        return models.values().map(|m| m.cost_usd).sum();
    }
    let total = result.total_cost_usd.unwrap_or(0.0);
    (total - previous_total.unwrap_or(0.0)).max(0.0)
}

fn error_of(result: &ResultMessage, api_error: Option<ApiErrorKind>) -> (ErrorCode, String) {
    let message = match (&result.result, result.errors.is_empty()) {
        (Some(text), _) if !text.trim().is_empty() => text.clone(),
        (_, false) => result.errors.join("; "),
        _ => "Claude Code reported an error".to_owned(),
    };
    let code = match (result.api_error_status, api_error) {
        (Some(400), _) if message.to_ascii_lowercase().contains("prompt is too long") => {
            ErrorCode::ContextWindowExceeded
        }
        (Some(status), _) => code_for_status(status),
        (None, Some(kind)) => code_for_kind(kind),
        (None, None) => match result.subtype {
            ResultSubtype::ErrorMaxBudgetUsd => ErrorCode::ModelBilling,
            ResultSubtype::Success
            | ResultSubtype::ErrorMaxTurns
            | ResultSubtype::ErrorDuringExecution
            | ResultSubtype::Other => ErrorCode::Internal,
        },
    };
    (code, message)
}

/// The HTTP status of a failed model request → our stable code.
pub(crate) fn code_for_status(status: u16) -> ErrorCode {
    match status {
        400 | 413 | 422 => ErrorCode::ModelInvalidRequest,
        401 => ErrorCode::ModelAuthentication,
        402 => ErrorCode::ModelBilling,
        403 => ErrorCode::ModelPermission,
        404 => ErrorCode::ModelNotFound,
        408 | 504 => ErrorCode::ModelTimeout,
        429 => ErrorCode::ModelRateLimited,
        529 => ErrorCode::ModelOverloaded,
        500..=599 => ErrorCode::ModelServerError,
        _ => ErrorCode::ModelUnavailable,
    }
}

pub(crate) fn code_for_kind(kind: ApiErrorKind) -> ErrorCode {
    match kind {
        ApiErrorKind::AuthenticationFailed => ErrorCode::ModelAuthentication,
        ApiErrorKind::BillingError => ErrorCode::ModelBilling,
        ApiErrorKind::RateLimit => ErrorCode::ModelRateLimited,
        ApiErrorKind::InvalidRequest => ErrorCode::ModelInvalidRequest,
        ApiErrorKind::ServerError => ErrorCode::ModelServerError,
        ApiErrorKind::Unknown => ErrorCode::ModelUnavailable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn result(extra: serde_json::Value) -> ResultMessage {
        let mut base = json!({"type": "result", "subtype": "success", "is_error": false,
            "session_id": "s1", "result": "ok", "usage": {"input_tokens": 3, "output_tokens": 4}});
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        serde_json::from_value(base).unwrap()
    }

    fn ctx() -> ResultContext {
        ResultContext {
            interrupted: false,
            api_error: None,
            previous_total_cost: None,
        }
    }

    #[test]
    fn api_error_statuses_map_to_stable_codes() {
        for (status, code) in [
            (401, ErrorCode::ModelAuthentication),
            (429, ErrorCode::ModelRateLimited),
            (529, ErrorCode::ModelOverloaded),
            (400, ErrorCode::ModelInvalidRequest),
            (500, ErrorCode::ModelServerError),
        ] {
            let r = turn_result(
                result(json!({"is_error": true, "api_error_status": status, "result": "boom"})),
                &ctx(),
            );
            assert_eq!(r.stop, TurnStopReason::Error);
            assert_eq!(r.error, Some((code, "boom".to_owned())), "status {status}");
            assert!(r.is_error);
        }
    }

    #[test]
    fn older_clis_without_a_status_fall_back_to_the_assistant_error() {
        let ctx = ResultContext {
            api_error: Some(ApiErrorKind::RateLimit),
            ..ctx()
        };
        let r = turn_result(result(json!({"is_error": true})), &ctx);
        assert_eq!(r.error.map(|e| e.0), Some(ErrorCode::ModelRateLimited));
    }

    #[test]
    fn aborts_are_cancellations_not_errors() {
        let r = turn_result(
            result(
                json!({"subtype": "error_during_execution", "is_error": true,
                "terminal_reason": "aborted_tools"}),
            ),
            &ctx(),
        );
        assert_eq!(
            (r.stop, r.is_error, r.error),
            (TurnStopReason::Cancelled, false, None)
        );
        let interrupted = ResultContext {
            interrupted: true,
            ..ctx()
        };
        let r = turn_result(
            result(json!({"terminal_reason": "aborted_somehow_new"})),
            &interrupted,
        );
        assert_eq!(r.stop, TurnStopReason::Cancelled);
    }

    #[test]
    fn stop_reasons_and_limits() {
        let r = turn_result(result(json!({"stop_reason": "max_tokens"})), &ctx());
        assert_eq!(r.stop, TurnStopReason::MaxTokens);
        let r = turn_result(
            result(json!({"subtype": "error_max_turns", "is_error": true})),
            &ctx(),
        );
        assert_eq!((r.stop, r.error), (TurnStopReason::MaxTurns, None));
    }

    #[test]
    fn cost_is_per_turn() {
        let r = turn_result(
            result(json!({"total_cost_usd": 5.0,
                "model_usage_since_last_result": {"a": {"costUSD": 0.25}, "b": {"costUSD": 0.5}}})),
            &ctx(),
        );
        assert_eq!(r.usage.cost_usd, 0.75);
        let previous = ResultContext {
            previous_total_cost: Some(1.0),
            ..ctx()
        };
        let r = turn_result(result(json!({"total_cost_usd": 1.5})), &previous);
        assert_eq!(r.usage.cost_usd, 0.5);
        assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (3, 4));
    }
}
