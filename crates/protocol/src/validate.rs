//! Range checks on request bodies, run before a request has any effect.
//!
//! serde already refuses a value that does not fit the Rust type (a string
//! for a number, `2^64` for a `u64`). What it cannot know is what the store
//! and the engine can hold: every integer is kept as a signed 64-bit column
//! (the document says `format: int64`), and money must be a finite amount of
//! zero or more. A value past that used to reach the database and fail
//! there, after the session's worktree existed.

use crate::usage::{Limits, SessionBudget};
use crate::{CreateSessionRequest, CreateTaskRequest, ResumeRequest};

/// The largest integer any stored field takes: the store keeps integers as
/// signed 64-bit columns.
pub const MAX_STORED_INTEGER: u64 = i64::MAX as u64;

/// One field of a request is out of range. `field` is its path in the body
/// (`budget.tokens`), so a client can point at it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A request body whose values are checked against what agentd can store
/// and act on.
pub trait Validate {
    fn validate(&self) -> Result<(), FieldError>;
}

/// An integer the store can hold.
pub fn check_stored_integer(field: &str, value: Option<u64>) -> Result<(), FieldError> {
    match value {
        Some(v) if v > MAX_STORED_INTEGER => Err(FieldError::new(
            field,
            format!("must be at most {MAX_STORED_INTEGER}"),
        )),
        _ => Ok(()),
    }
}

/// An amount of US dollars: finite, zero or more.
pub fn check_amount(field: &str, value: Option<f64>) -> Result<(), FieldError> {
    match value {
        Some(v) if !v.is_finite() || v < 0.0 => Err(FieldError::new(
            field,
            "must be a finite amount of zero or more",
        )),
        _ => Ok(()),
    }
}

fn check_budget(prefix: &str, budget: Option<&SessionBudget>) -> Result<(), FieldError> {
    let Some(b) = budget else { return Ok(()) };
    check_stored_integer(&format!("{prefix}.tokens"), b.tokens)?;
    check_amount(&format!("{prefix}.cost_usd"), b.cost_usd)
}

impl Validate for SessionBudget {
    fn validate(&self) -> Result<(), FieldError> {
        check_budget("budget", Some(self))
    }
}

impl Validate for CreateSessionRequest {
    fn validate(&self) -> Result<(), FieldError> {
        check_budget("budget", self.budget.as_ref())
    }
}

impl Validate for CreateTaskRequest {
    fn validate(&self) -> Result<(), FieldError> {
        check_budget("budget", self.budget.as_ref())
    }
}

impl Validate for ResumeRequest {
    fn validate(&self) -> Result<(), FieldError> {
        check_budget("budget", self.budget.as_ref())
    }
}

impl Validate for Limits {
    fn validate(&self) -> Result<(), FieldError> {
        // Exhaustive destructuring: a new limit cannot be added unchecked.
        let Limits {
            max_running_sessions: _,
            max_sessions: _,
            session_tokens,
            session_cost_usd,
            daily_tokens,
            daily_cost_usd,
            monthly_tokens,
            monthly_cost_usd,
        } = *self;
        check_stored_integer("session_tokens", session_tokens)?;
        check_stored_integer("daily_tokens", daily_tokens)?;
        check_stored_integer("monthly_tokens", monthly_tokens)?;
        check_amount("session_cost_usd", session_cost_usd)?;
        check_amount("daily_cost_usd", daily_cost_usd)?;
        check_amount("monthly_cost_usd", monthly_cost_usd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_past_i64_are_refused_by_name() {
        let limits: Limits =
            serde_json::from_str(r#"{"daily_tokens": 9223372036854775808}"#).expect("fits a u64");
        assert_eq!(
            limits.validate(),
            Err(FieldError::new(
                "daily_tokens",
                "must be at most 9223372036854775807"
            ))
        );
        let ok: Limits =
            serde_json::from_str(r#"{"daily_tokens": 9223372036854775807}"#).expect("fits a u64");
        assert_eq!(ok.validate(), Ok(()));
    }

    #[test]
    fn budgets_name_their_nested_field() {
        let req: ResumeRequest =
            serde_json::from_str(r#"{"budget": {"tokens": 18446744073709551615}}"#)
                .expect("fits a u64");
        assert_eq!(
            req.validate().map_err(|e| e.field),
            Err("budget.tokens".into())
        );
        let req: ResumeRequest =
            serde_json::from_str(r#"{"budget": {"cost_usd": -1}}"#).expect("parses");
        assert_eq!(
            req.validate().map_err(|e| e.field),
            Err("budget.cost_usd".into())
        );
    }
}
