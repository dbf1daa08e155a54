//! `agentd serve` options for authentication: token lifetimes and the
//! login throttling policy (flags or `AGENTD_*` environment).

use std::time::Duration;

use agentd_server::auth::{AuthConfig, LoginPolicy};
use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct AuthArgs {
    /// Failed logins before an account locks.
    #[arg(long, env = "AGENTD_LOGIN_LOCKOUT_AFTER", default_value_t = 10)]
    pub login_lockout_after: u32,
    /// How long a locked account stays locked, in seconds.
    #[arg(long, env = "AGENTD_LOGIN_LOCKOUT_SECS", default_value_t = 900)]
    pub login_lockout_secs: u64,
    /// Failed logins in a row before each attempt must wait.
    #[arg(long, env = "AGENTD_LOGIN_FREE_ATTEMPTS", default_value_t = 3)]
    pub login_free_attempts: u32,
    /// The first wait after the free attempts, in milliseconds; it doubles
    /// with each further failure.
    #[arg(long, env = "AGENTD_LOGIN_BACKOFF_MS", default_value_t = 1000)]
    pub login_backoff_ms: u64,
    /// Failed logins from one address (over all names) before it must wait.
    #[arg(long, env = "AGENTD_LOGIN_IP_FREE_ATTEMPTS", default_value_t = 20)]
    pub login_ip_free_attempts: u32,
    /// Lifetime of a login's access token, in seconds.
    #[arg(long, env = "AGENTD_ACCESS_TOKEN_TTL_SECS", default_value_t = 900)]
    pub access_token_ttl_secs: u64,
    /// Lifetime of a stream ticket, in seconds.
    #[arg(long, env = "AGENTD_TICKET_TTL_SECS", default_value_t = 60)]
    pub ticket_ttl_secs: u64,
}

impl AuthArgs {
    pub fn config(&self) -> AuthConfig {
        let defaults = AuthConfig::default();
        AuthConfig {
            access_ttl: Duration::from_secs(self.access_token_ttl_secs.max(1)),
            refresh_ttl: defaults.refresh_ttl,
            ticket_ttl: Duration::from_secs(self.ticket_ttl_secs.max(1)),
            login: LoginPolicy {
                lockout_after: self.login_lockout_after.max(1),
                lockout_window: Duration::from_secs(self.login_lockout_secs.max(1)),
                free_attempts: self.login_free_attempts,
                backoff_base: Duration::from_millis(self.login_backoff_ms),
                backoff_max: defaults.login.backoff_max,
                ip_free_attempts: self.login_ip_free_attempts,
            },
        }
    }
}
