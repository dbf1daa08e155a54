//! Quotas and spend caps: how many sessions a user may have, and budgets
//! (tokens or cost, per session, per user per UTC day and month) checked
//! before every model call. A session that runs into a budget waits in
//! `paused` (reason `budget`) until it is within every budget again: its
//! owner raised the session's own budget, an admin raised the user's limit,
//! or a new day or month began and someone resumed it.

use agentd_protocol::{
    BudgetExceeded, BudgetMetric, BudgetScope, Limits, SessionBudget, SessionStatus, Usage,
    UsageWindow, UserUsage,
};
use agentd_store::SessionRecord;
use time::{Date, OffsetDateTime, Time};

use crate::error::CoreError;
use crate::services::Services;

/// The status reason of a session paused by a budget.
pub const BUDGET_REASON: &str = "budget";
/// The status reason of a session paused on request.
pub const PAUSED_REASON: &str = "paused by request";

/// Statuses that count as running for `max_running_sessions`.
pub(crate) const ACTIVE: [SessionStatus; 3] = [
    SessionStatus::Queued,
    SessionStatus::Running,
    SessionStatus::BlockedOnApproval,
];

/// What a budget counts: input (cached or not) plus output tokens.
pub fn tokens_of(usage: &Usage) -> u64 {
    usage.total_input() + usage.output_tokens
}

/// The first instants of the UTC day and month containing `now`.
pub(crate) fn windows(now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    let now = now.to_offset(time::UtcOffset::UTC);
    let day = now.replace_time(Time::MIDNIGHT);
    let month = Date::from_calendar_date(now.year(), now.month(), 1)
        .map(|d| d.with_time(Time::MIDNIGHT).assume_utc())
        .unwrap_or(day);
    (day, month)
}

pub(crate) fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The limits that apply to `owner`: an admin's overrides over the server's
/// defaults; sessions without an owner get the defaults.
pub(crate) async fn effective_limits(
    services: &Services,
    owner: Option<&str>,
) -> Result<Limits, CoreError> {
    let defaults = services.config.limits;
    Ok(match owner {
        Some(owner) => services.store.user_limits(owner).await?.or(defaults),
        None => defaults,
    })
}

/// Refuses a new session when its owner is at a session limit.
pub(crate) async fn check_new_session(
    services: &Services,
    owner: Option<&str>,
) -> Result<(), CoreError> {
    let Some(owner) = owner else { return Ok(()) };
    let limits = effective_limits(services, Some(owner)).await?;
    if let Some(max) = limits.max_sessions {
        let have = services.store.count_sessions_of(owner, None).await?;
        if have >= max {
            return Err(CoreError::QuotaExceeded(format!(
                "you have {have} sessions and may keep {max}; delete one or ask an admin to \
                 raise max_sessions"
            )));
        }
    }
    if let Some(max) = limits.max_running_sessions {
        let running = services
            .store
            .count_sessions_of(owner, Some(&ACTIVE))
            .await?;
        if running >= max {
            return Err(CoreError::QuotaExceeded(format!(
                "you have {running} sessions running and may run {max} at once; wait for one \
                 to finish or cancel one"
            )));
        }
    }
    Ok(())
}

pub(crate) fn validate_budget(budget: &SessionBudget) -> Result<(), CoreError> {
    if budget.tokens == Some(0) {
        return Err(CoreError::Invalid("budget.tokens must be above 0".into()));
    }
    if let Some(cost) = budget.cost_usd
        && !(cost.is_finite() && cost > 0.0)
    {
        return Err(CoreError::Invalid(
            "budget.cost_usd must be a positive number".into(),
        ));
    }
    Ok(())
}

/// The first budget the session is over, if any.
pub(crate) async fn over_budget(
    services: &Services,
    record: &SessionRecord,
) -> Result<Option<BudgetExceeded>, CoreError> {
    let limits = effective_limits(services, record.owner_id.as_deref()).await?;
    let own = services
        .store
        .session_budget(record.id)
        .await?
        .unwrap_or_default();
    let session_tokens = own.tokens.or(limits.session_tokens);
    let session_cost = own.cost_usd.or(limits.session_cost_usd);
    if let Some(hit) = check(
        BudgetScope::Session,
        &record.usage,
        session_tokens,
        session_cost,
        "raise this session's budget when you resume it",
    ) {
        return Ok(Some(hit));
    }
    let Some(owner) = record.owner_id.as_deref() else {
        return Ok(None);
    };
    let wants_day = limits.daily_tokens.is_some() || limits.daily_cost_usd.is_some();
    let wants_month = limits.monthly_tokens.is_some() || limits.monthly_cost_usd.is_some();
    let (day, month) = windows(OffsetDateTime::now_utc());
    if wants_day {
        let used = services.store.usage_since(owner, ms(day)).await?;
        if let Some(hit) = check(
            BudgetScope::Day,
            &used,
            limits.daily_tokens,
            limits.daily_cost_usd,
            "it resets at midnight UTC, or an admin can raise it",
        ) {
            return Ok(Some(hit));
        }
    }
    if wants_month {
        let used = services.store.usage_since(owner, ms(month)).await?;
        if let Some(hit) = check(
            BudgetScope::Month,
            &used,
            limits.monthly_tokens,
            limits.monthly_cost_usd,
            "it resets on the first of the month (UTC), or an admin can raise it",
        ) {
            return Ok(Some(hit));
        }
    }
    Ok(None)
}

fn check(
    scope: BudgetScope,
    used: &Usage,
    tokens: Option<u64>,
    cost: Option<f64>,
    remedy: &str,
) -> Option<BudgetExceeded> {
    let what = match scope {
        BudgetScope::Session => "this session's",
        BudgetScope::Day => "your daily",
        BudgetScope::Month => "your monthly",
    };
    let used_tokens = tokens_of(used);
    if let Some(limit) = tokens
        && used_tokens >= limit
    {
        return Some(BudgetExceeded {
            scope,
            metric: BudgetMetric::Tokens,
            limit: limit as f64,
            used: used_tokens as f64,
            message: format!(
                "{what} token budget of {limit} is used up ({used_tokens} used); {remedy}"
            ),
        });
    }
    if let Some(limit) = cost
        && used.cost_usd >= limit
    {
        return Some(BudgetExceeded {
            scope,
            metric: BudgetMetric::CostUsd,
            limit,
            used: used.cost_usd,
            message: format!(
                "{what} spend cap of ${limit:.2} is used up (${:.4} spent); {remedy}",
                used.cost_usd
            ),
        });
    }
    None
}

/// Counts one model call of an owned session into its owner's ledger.
pub(crate) async fn record(
    store: &agentd_store::Store,
    record: &SessionRecord,
    call: &Usage,
    at: OffsetDateTime,
) {
    let Some(owner) = record.owner_id.as_deref() else {
        return;
    };
    if let Err(e) = store.record_usage(owner, record.id, ms(at), call).await {
        // The session's own totals are saved; only the day/month view lags.
        tracing::error!(id = %record.id, error = %e, "cannot record usage in the ledger");
    }
}

/// One user's usage today and this month, with counts and limits.
pub(crate) async fn user_usage(
    services: &Services,
    user_id: &str,
    name: &str,
) -> Result<UserUsage, CoreError> {
    let (day, month) = windows(OffsetDateTime::now_utc());
    let today = services.store.usage_since(user_id, ms(day)).await?;
    let this_month = services.store.usage_since(user_id, ms(month)).await?;
    Ok(UserUsage {
        user_id: user_id.to_owned(),
        name: name.to_owned(),
        today: window(day, today),
        month: window(month, this_month),
        running_sessions: services
            .store
            .count_sessions_of(user_id, Some(&ACTIVE))
            .await?,
        sessions: services.store.count_sessions_of(user_id, None).await?,
        limits: effective_limits(services, Some(user_id)).await?,
    })
}

fn window(since: OffsetDateTime, usage: Usage) -> UsageWindow {
    UsageWindow {
        since,
        tokens: tokens_of(&usage),
        usage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn windows_start_at_utc_midnight_and_the_first_of_the_month() {
        let (day, month) = windows(datetime!(2026-11-21 23:30:00 -02:00));
        assert_eq!(day, datetime!(2026-11-22 00:00:00 UTC));
        assert_eq!(month, datetime!(2026-11-01 00:00:00 UTC));
    }

    #[test]
    fn a_budget_is_hit_when_used_reaches_it() {
        let used = Usage {
            input_tokens: 60,
            output_tokens: 40,
            cost_usd: 0.5,
            ..Usage::default()
        };
        assert!(check(BudgetScope::Day, &used, Some(101), None, "").is_none());
        let hit = check(BudgetScope::Day, &used, Some(100), None, "").unwrap();
        assert_eq!(hit.metric, BudgetMetric::Tokens);
        assert_eq!(hit.used, 100.0);
        let hit = check(BudgetScope::Session, &used, None, Some(0.5), "x").unwrap();
        assert_eq!(hit.metric, BudgetMetric::CostUsd);
        assert!(hit.message.contains("$0.50"), "{}", hit.message);
        assert!(check(BudgetScope::Month, &used, None, None, "").is_none());
    }

    #[test]
    fn session_budgets_must_be_positive() {
        assert!(
            validate_budget(&SessionBudget {
                tokens: Some(0),
                cost_usd: None
            })
            .is_err()
        );
        assert!(
            validate_budget(&SessionBudget {
                tokens: None,
                cost_usd: Some(f64::NAN)
            })
            .is_err()
        );
        assert!(
            validate_budget(&SessionBudget {
                tokens: Some(5),
                cost_usd: Some(0.1)
            })
            .is_ok()
        );
    }
}
