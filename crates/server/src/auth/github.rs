//! GitHub sign-in (the OAuth web application flow): the settings, and the
//! two calls to GitHub the callback makes (code → token, token → user).

use std::fmt;
use std::time::Duration;

use axum::http::StatusCode;
use serde::Deserialize;

use agentd_protocol::ErrorCode;

use crate::error::ApiError;

/// How long GitHub may take per call before the login fails.
const GITHUB_TIMEOUT: Duration = Duration::from_secs(10);

/// GitHub OAuth app settings.
#[derive(Clone)]
pub struct GitHubOAuth {
    pub client_id: String,
    pub client_secret: String,
    /// `https://github.com` (the authorize and token endpoints).
    pub oauth_url: String,
    /// `https://api.github.com`.
    pub api_url: String,
    /// Create a member for a GitHub account no user is linked to.
    pub allow_signup: bool,
}

impl fmt::Debug for GitHubOAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubOAuth")
            .field("client_id", &self.client_id)
            .field("oauth_url", &self.oauth_url)
            .field("api_url", &self.api_url)
            .field("allow_signup", &self.allow_signup)
            .finish_non_exhaustive()
    }
}

/// The GitHub account that signed in.
#[derive(Clone, Debug, Deserialize)]
pub struct GitHubUser {
    pub id: i64,
    pub login: String,
}

/// GitHub's answer at the token endpoint: a token, or (with status 200) an
/// error such as `bad_verification_code`.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn upstream(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_GATEWAY, ErrorCode::Unavailable, message)
}

impl GitHubOAuth {
    /// The URL to send the browser to.
    pub fn authorize_url(&self, redirect_uri: &str, state: &str) -> String {
        format!(
            "{}/login/oauth/authorize?client_id={}&redirect_uri={}&scope=read%3Auser&state={}",
            self.oauth_url.trim_end_matches('/'),
            encode(&self.client_id),
            encode(redirect_uri),
            encode(state),
        )
    }

    fn client() -> Result<reqwest::Client, ApiError> {
        reqwest::Client::builder()
            .timeout(GITHUB_TIMEOUT)
            .user_agent(concat!("agentd/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                tracing::error!(error = %e, "cannot build the HTTP client for GitHub");
                upstream("cannot reach GitHub")
            })
    }

    /// Trades the callback's `code` for the user it belongs to. The access
    /// token is used once, for `GET /user`, and then dropped: agentd asks
    /// for `read:user` only to learn who signed in.
    pub async fn user_for_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<GitHubUser, ApiError> {
        let client = Self::client()?;
        let url = format!(
            "{}/login/oauth/access_token",
            self.oauth_url.trim_end_matches('/')
        );
        let answer: TokenAnswer = client
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form(&[
                ("client_id", &self.client_id),
                ("client_secret", &self.client_secret),
                ("code", code),
                ("redirect_uri", redirect_uri),
            ]))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| {
                // reqwest's error names the URL only, never the form body.
                tracing::warn!(error = %e, "GitHub token exchange failed");
                upstream("GitHub did not answer the token exchange")
            })?
            .json()
            .await
            .map_err(|_| upstream("GitHub's token answer was not understood"))?;
        let token = match answer {
            TokenAnswer {
                access_token: Some(token),
                error: None,
                ..
            } => token,
            TokenAnswer {
                error,
                error_description,
                ..
            } => {
                let error = error.unwrap_or_else(|| "no access token".to_owned());
                let detail = error_description
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default();
                return Err(ApiError::unauthorized(format!(
                    "GitHub refused the sign-in ({error}{detail}); start again"
                )));
            }
        };
        client
            .get(format!("{}/user", self.api_url.trim_end_matches('/')))
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| {
                tracing::warn!(error = %e, "GitHub user lookup failed");
                upstream("GitHub did not tell who signed in")
            })?
            .json()
            .await
            .map_err(|_| upstream("GitHub's user answer was not understood"))
    }
}

/// An `application/x-www-form-urlencoded` body.
fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorize_url_carries_every_parameter_encoded() {
        let gh = GitHubOAuth {
            client_id: "Iv1.abc".into(),
            client_secret: "shh".into(),
            oauth_url: "http://127.0.0.1:9/".into(),
            api_url: "http://127.0.0.1:9".into(),
            allow_signup: false,
        };
        assert_eq!(
            gh.authorize_url("http://h:1/api/v1/auth/github/callback", "s t"),
            "http://127.0.0.1:9/login/oauth/authorize?client_id=Iv1.abc\
             &redirect_uri=http%3A%2F%2Fh%3A1%2Fapi%2Fv1%2Fauth%2Fgithub%2Fcallback\
             &scope=read%3Auser&state=s%20t"
        );
        assert!(!format!("{gh:?}").contains("shh"));
    }
}
