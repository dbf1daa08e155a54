//! Pause and resume, usage and limits: the engine's API for quotas (the
//! checks themselves are in `owner::limits`, the waiting in `LocalHost`).

use agentd_protocol::{
    Limits, QuotaView, SessionBudget, SessionId, SessionStatus, SessionView, UsageList, UserUsage,
};

use crate::error::CoreError;
use crate::event_log::now_ms;
use crate::manager::SessionManager;

impl SessionManager {
    /// Pause a working session before its next model call; it stays
    /// `paused` (reason "paused by request") until resumed.
    pub async fn pause(&self, id: SessionId) -> Result<SessionView, CoreError> {
        let record = self.record(id).await?;
        if !crate::owner::limits::ACTIVE.contains(&record.status) {
            return Err(CoreError::Conflict(format!(
                "only a working session can be paused; this one is {}",
                record.status.as_str()
            )));
        }
        self.sessions.get(id).request_pause().await;
        self.get_session(id).await
    }

    /// Resume a paused session, first raising its own budget when `budget`
    /// is given. Refused (`budget_exceeded`) while it is still over a budget.
    pub async fn resume(
        &self,
        id: SessionId,
        budget: Option<SessionBudget>,
    ) -> Result<SessionView, CoreError> {
        let record = self.record(id).await?;
        if record.status != SessionStatus::Paused {
            return Err(CoreError::Conflict(format!(
                "only a paused session can be resumed; this one is {}",
                record.status.as_str()
            )));
        }
        if let Some(raise) = budget {
            crate::owner::limits::validate_budget(&raise)?;
            let old = self
                .services
                .store
                .session_budget(id)
                .await?
                .unwrap_or_default();
            let merged = SessionBudget {
                tokens: raise.tokens.or(old.tokens),
                cost_usd: raise.cost_usd.or(old.cost_usd),
            };
            self.services.store.put_session_budget(id, &merged).await?;
        }
        let live = self.sessions.get(id);
        live.clear_pause().await;
        if let Some(hit) = crate::owner::limits::over_budget(&self.services, &record).await? {
            return Err(CoreError::BudgetExceeded(hit.message));
        }
        live.resume();
        self.get_session(id).await
    }

    /// The limits of `user_id`: an admin's overrides and what applies.
    pub async fn quotas(&self, user_id: &str) -> Result<QuotaView, CoreError> {
        let overrides = self.services.store.user_limits(user_id).await?;
        Ok(QuotaView {
            user_id: user_id.to_owned(),
            overrides,
            effective: overrides.or(self.services.config.limits),
        })
    }

    /// Replace an admin's overrides for `user_id`; sessions paused by a
    /// budget check again at once (raising a cap resumes them).
    pub async fn set_quotas(&self, user_id: &str, limits: Limits) -> Result<QuotaView, CoreError> {
        validate_limits(&limits)?;
        self.services
            .store
            .put_user_limits(user_id, &limits, now_ms_i64())
            .await?;
        for live in self.sessions.all() {
            live.resume();
        }
        self.quotas(user_id).await
    }

    /// One user's usage today and this month.
    pub async fn usage(&self, user_id: &str, name: &str) -> Result<UserUsage, CoreError> {
        crate::owner::limits::user_usage(&self.services, user_id, name).await
    }

    /// Every user's usage (the admin view).
    pub async fn usage_of_all(&self) -> Result<UsageList, CoreError> {
        let mut users = Vec::new();
        for user in self.services.store.list_users().await? {
            users.push(
                crate::owner::limits::user_usage(&self.services, &user.id, &user.name).await?,
            );
        }
        Ok(UsageList { users })
    }
}

fn now_ms_i64() -> i64 {
    crate::owner::limits::ms(now_ms())
}

fn validate_limits(limits: &Limits) -> Result<(), CoreError> {
    for (name, value) in [
        ("session_cost_usd", limits.session_cost_usd),
        ("daily_cost_usd", limits.daily_cost_usd),
        ("monthly_cost_usd", limits.monthly_cost_usd),
    ] {
        if let Some(v) = value
            && !(v.is_finite() && v >= 0.0)
        {
            return Err(CoreError::Invalid(format!(
                "{name} must be a number of dollars, 0 or more"
            )));
        }
    }
    Ok(())
}
