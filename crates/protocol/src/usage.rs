//! Token usage and cost.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Tokens and cost, either for one model call, one turn or a running total.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    /// US dollars, from the price table.
    pub cost_usd: f64,
}

impl Usage {
    pub fn add(&mut self, other: &Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_write_tokens += other.cache_write_tokens;
        self.cost_usd += other.cost_usd;
    }

    /// All input tokens, cached or not.
    pub fn total_input(&self) -> u64 {
        self.input_tokens + self.cache_read_tokens + self.cache_write_tokens
    }
}

/// Limits on a user's sessions and spending. `None` means no limit (in a
/// user's overrides: inherit the server's default). Tokens count input
/// (cached or not) plus output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Sessions of the user that may be queued, running or waiting for an
    /// approval at once; creating one more is refused.
    #[serde(default)]
    pub max_running_sessions: Option<u32>,
    /// Sessions the user may keep (deleting one frees its place).
    #[serde(default)]
    pub max_sessions: Option<u32>,
    /// Budget of one session unless the session sets its own.
    #[serde(default)]
    pub session_tokens: Option<u64>,
    #[serde(default)]
    pub session_cost_usd: Option<f64>,
    /// Budget per user per UTC day.
    #[serde(default)]
    pub daily_tokens: Option<u64>,
    #[serde(default)]
    pub daily_cost_usd: Option<f64>,
    /// Budget per user per UTC calendar month.
    #[serde(default)]
    pub monthly_tokens: Option<u64>,
    #[serde(default)]
    pub monthly_cost_usd: Option<f64>,
}

impl Limits {
    /// `self` where set, else `default`.
    pub fn or(self, default: Limits) -> Limits {
        Limits {
            max_running_sessions: self.max_running_sessions.or(default.max_running_sessions),
            max_sessions: self.max_sessions.or(default.max_sessions),
            session_tokens: self.session_tokens.or(default.session_tokens),
            session_cost_usd: self.session_cost_usd.or(default.session_cost_usd),
            daily_tokens: self.daily_tokens.or(default.daily_tokens),
            daily_cost_usd: self.daily_cost_usd.or(default.daily_cost_usd),
            monthly_tokens: self.monthly_tokens.or(default.monthly_tokens),
            monthly_cost_usd: self.monthly_cost_usd.or(default.monthly_cost_usd),
        }
    }
}

/// A session's own budget (`budget` when creating it, or raised on resume).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionBudget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

/// `GET|PUT /api/v1/users/{id}/quotas`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QuotaView {
    pub user_id: String,
    /// What an admin set for this user (`null`: the server default).
    pub overrides: Limits,
    /// What applies: the overrides over the server's defaults.
    pub effective: Limits,
}

/// Usage within one window (a UTC day or month).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UsageWindow {
    /// The window's first instant.
    #[serde(with = "time::serde::rfc3339")]
    pub since: time::OffsetDateTime,
    #[serde(flatten)]
    pub usage: Usage,
    /// Input (cached or not) plus output tokens: what token budgets count.
    pub tokens: u64,
}

/// One user's usage and limits (`GET /api/v1/usage`, and each row of the
/// admin view).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UserUsage {
    pub user_id: String,
    pub name: String,
    pub today: UsageWindow,
    pub month: UsageWindow,
    /// Sessions queued, running or waiting for an approval now.
    pub running_sessions: u32,
    pub sessions: u32,
    pub limits: Limits,
}

/// `GET /api/v1/admin/usage`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UsageList {
    pub users: Vec<UserUsage>,
}

/// Which budget a session ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BudgetScope {
    Session,
    Day,
    Month,
}

/// What the budget counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BudgetMetric {
    Tokens,
    CostUsd,
}

/// `budget.exceeded`: a model call was held back because a budget is used
/// up; the session is `paused` (reason `budget`) until it is resumed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BudgetExceeded {
    pub scope: BudgetScope,
    pub metric: BudgetMetric,
    pub limit: f64,
    pub used: f64,
    /// For people: which cap, and who can lift it.
    pub message: String,
}
