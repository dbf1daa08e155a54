//! `agentd serve` options for authentication: token and browser-session
//! lifetimes, the login throttling policy, proxy trust, GitHub sign-in and
//! the master key for stored credentials (flags or `AGENTD_*` environment).

use std::path::Path;
use std::time::Duration;

use agentd_server::auth::github::GitHubOAuth;
use agentd_server::auth::{AuthConfig, LoginPolicy};
use agentd_store::MasterKey;
use anyhow::{Context, Result};
use clap::Args;

/// A secret flag value: `Debug` never shows it, and `--help` never shows the
/// environment's value.
#[derive(Clone)]
pub struct SecretArg(pub(crate) String);

impl std::str::FromStr for SecretArg {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl std::fmt::Debug for SecretArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretArg(…)")
    }
}

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
    /// Lifetime of a browser session (cookie login), in seconds.
    #[arg(long, env = "AGENTD_WEB_SESSION_TTL_SECS", default_value_t = 7 * 24 * 3600)]
    pub web_session_ttl_secs: u64,
    /// Behind a reverse proxy: trust its X-Forwarded-Proto and
    /// X-Forwarded-Host (Secure cookies when the client used https).
    #[arg(long, env = "AGENTD_BEHIND_PROXY")]
    pub behind_proxy: bool,
    /// The URL browsers use to reach agentd, e.g. https://agents.example.com.
    #[arg(long, env = "AGENTD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// GitHub OAuth app client id (turns on "Sign in with GitHub").
    #[arg(long, env = "AGENTD_GITHUB_CLIENT_ID")]
    pub github_client_id: Option<String>,
    /// GitHub OAuth app client secret.
    #[arg(long, env = "AGENTD_GITHUB_CLIENT_SECRET", hide_env_values = true)]
    pub github_client_secret: Option<SecretArg>,
    #[arg(
        long,
        env = "AGENTD_GITHUB_OAUTH_URL",
        default_value = "https://github.com"
    )]
    pub github_oauth_url: String,
    #[arg(
        long,
        env = "AGENTD_GITHUB_API_URL",
        default_value = "https://api.github.com"
    )]
    pub github_api_url: String,
    /// Create a member for a GitHub account no user is linked to.
    #[arg(long, env = "AGENTD_GITHUB_ALLOW_SIGNUP")]
    pub github_allow_signup: bool,
    /// The key that encrypts stored credentials: base64 of 32 bytes. Default:
    /// `master.key` in the data dir, created on first start.
    #[arg(long, env = "AGENTD_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<SecretArg>,
}

impl AuthArgs {
    pub fn config(&self) -> Result<AuthConfig> {
        let defaults = AuthConfig::default();
        let github = match (&self.github_client_id, &self.github_client_secret) {
            (Some(id), Some(SecretArg(secret))) => Some(GitHubOAuth {
                client_id: id.clone(),
                client_secret: secret.clone(),
                oauth_url: self.github_oauth_url.clone(),
                api_url: self.github_api_url.clone(),
                allow_signup: self.github_allow_signup,
            }),
            (None, None) => None,
            _ => anyhow::bail!(
                "GitHub sign-in needs both AGENTD_GITHUB_CLIENT_ID and AGENTD_GITHUB_CLIENT_SECRET"
            ),
        };
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            anyhow::bail!("the public URL must start with http:// or https://");
        }
        Ok(AuthConfig {
            access_ttl: Duration::from_secs(self.access_token_ttl_secs.max(1)),
            refresh_ttl: defaults.refresh_ttl,
            ticket_ttl: Duration::from_secs(self.ticket_ttl_secs.max(1)),
            web_session_ttl: Duration::from_secs(self.web_session_ttl_secs.max(1)),
            behind_proxy: self.behind_proxy,
            public_url: self.public_url.clone(),
            github,
            login: LoginPolicy {
                lockout_after: self.login_lockout_after.max(1),
                lockout_window: Duration::from_secs(self.login_lockout_secs.max(1)),
                free_attempts: self.login_free_attempts,
                backoff_base: Duration::from_millis(self.login_backoff_ms),
                backoff_max: defaults.login.backoff_max,
                ip_free_attempts: self.login_ip_free_attempts,
            },
        })
    }

    /// Tells the log redaction about secrets given as flags.
    pub fn register_secrets(&self) {
        for SecretArg(value) in [&self.github_client_secret, &self.master_key]
            .into_iter()
            .flatten()
        {
            crate::redact::register(value);
        }
    }

    /// The master key: the flag/environment value, else the key file in the
    /// data dir (created with mode 0600 on first start).
    pub fn master_key(&self, data_dir: &Path) -> Result<MasterKey> {
        match &self.master_key {
            Some(SecretArg(value)) => {
                MasterKey::from_base64(value).context("invalid AGENTD_MASTER_KEY")
            }
            None => MasterKey::load_or_create(&data_dir.join("master.key"))
                .context("cannot load the master key"),
        }
    }
}
