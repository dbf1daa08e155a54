//! Browser sessions: the cookies that carry them and the checks that keep a
//! cookie from being used by another site (CSRF).
//!
//! A browser sends cookies with requests other sites make it send, so a
//! cookie-authenticated POST/PUT/PATCH/DELETE must prove it came from our
//! own pages twice over: its Origin (or Referer) names our host, and it
//! echoes the readable `agentd_csrf` cookie in `X-CSRF-Token` (another site
//! can make the browser send the cookie but cannot read it). The CSRF value
//! is derived from the session secret, so a cookie planted by a sibling
//! subdomain does not match either. Bearer tokens are never sent by the
//! browser on its own and need none of this.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, Method, header};

use super::AuthConfig;
use super::secret::derive_csrf;

pub const SESSION_COOKIE: &str = "agentd_session";
pub const CSRF_COOKIE: &str = "agentd_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Binds a GitHub login's `state` to the browser that started it.
pub const OAUTH_STATE_COOKIE: &str = "agentd_oauth_state";

/// The value of cookie `name` in the request, if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// True when cookies must carry `Secure`: the public URL is https, or a
/// trusted proxy says the client spoke https to it.
pub fn secure(config: &AuthConfig, headers: &HeaderMap) -> bool {
    if config
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
    {
        return true;
    }
    config.behind_proxy && forwarded_https(headers)
}

fn forwarded_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// `scheme://host` the browser used, for URLs we hand back to it (the OAuth
/// redirect URI): the configured public URL, else the request's Host.
pub fn external_base(config: &AuthConfig, headers: &HeaderMap) -> Option<String> {
    if let Some(url) = &config.public_url {
        return Some(url.trim_end_matches('/').to_owned());
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let scheme = if config.behind_proxy && forwarded_https(headers) {
        "https"
    } else {
        "http"
    };
    Some(format!("{scheme}://{host}"))
}

/// A `Set-Cookie` value. `http_only` is false only for the CSRF cookie,
/// which the web UI must read.
pub fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: Duration,
    http_only: bool,
    secure: bool,
) -> Option<HeaderValue> {
    let mut out = format!(
        "{name}={value}; Path={path}; Max-Age={}; SameSite=Lax",
        max_age.as_secs()
    );
    if http_only {
        out.push_str("; HttpOnly");
    }
    if secure {
        out.push_str("; Secure");
    }
    HeaderValue::from_str(&out).ok()
}

/// The two cookies of a new browser session.
pub fn session_cookies(
    config: &AuthConfig,
    headers: &HeaderMap,
    secret: &str,
) -> Vec<(header::HeaderName, HeaderValue)> {
    let ttl = config.web_session_ttl;
    let secure = secure(config, headers);
    [
        set_cookie(SESSION_COOKIE, secret, "/", ttl, true, secure),
        set_cookie(CSRF_COOKIE, &derive_csrf(secret), "/", ttl, false, secure),
    ]
    .into_iter()
    .flatten()
    .map(|v| (header::SET_COOKIE, v))
    .collect()
}

/// Cookies that end a browser session (logout).
pub fn clearing_cookies(
    config: &AuthConfig,
    headers: &HeaderMap,
) -> Vec<(header::HeaderName, HeaderValue)> {
    let secure = secure(config, headers);
    [
        set_cookie(SESSION_COOKIE, "", "/", Duration::ZERO, true, secure),
        set_cookie(CSRF_COOKIE, "", "/", Duration::ZERO, false, secure),
    ]
    .into_iter()
    .flatten()
    .map(|v| (header::SET_COOKIE, v))
    .collect()
}

/// Methods that change state and so need the CSRF checks.
pub fn changes_state(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Why a cookie-authenticated request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsrfRefusal {
    ForeignOrigin,
    BadToken,
}

impl CsrfRefusal {
    pub fn message(self) -> &'static str {
        match self {
            Self::ForeignOrigin => {
                "cross-site request refused: the Origin (or Referer) is not this server"
            }
            Self::BadToken => {
                "missing or wrong X-CSRF-Token: echo the agentd_csrf cookie in that header"
            }
        }
    }
}

/// The CSRF checks of a cookie-authenticated state-changing request.
pub fn check_csrf(
    config: &AuthConfig,
    headers: &HeaderMap,
    session_secret: &str,
) -> Result<(), CsrfRefusal> {
    if !same_origin(config, headers) {
        return Err(CsrfRefusal::ForeignOrigin);
    }
    let header = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    let cookie = cookie(headers, CSRF_COOKIE);
    let expected = derive_csrf(session_secret);
    match (header, cookie) {
        (Some(h), Some(c)) if constant_eq(h, c) && constant_eq(h, &expected) => Ok(()),
        _ => Err(CsrfRefusal::BadToken),
    }
}

/// True when the request's Origin, or failing that its Referer, names the
/// host the request was sent to or the configured public URL. A request
/// with neither is refused: browsers send Origin on every POST.
pub fn same_origin(config: &AuthConfig, headers: &HeaderMap) -> bool {
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .and_then(authority);
    let Some(source) = source else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let forwarded = headers
        .get("x-forwarded-host")
        .and_then(|v| v.to_str().ok())
        .filter(|_| config.behind_proxy)
        .map(str::trim);
    let public = config.public_url.as_deref().and_then(authority);
    [host, forwarded, public]
        .into_iter()
        .flatten()
        .any(|h| h.eq_ignore_ascii_case(source))
}

/// `host[:port]` of `scheme://host[:port]/…`; `None` for `null` and other
/// opaque origins.
fn authority(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|a| !a.is_empty())
}

/// Compares without an early exit, so the time taken does not tell an
/// attacker how much of a guess was right.
fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn cookies_are_found_across_headers() {
        let h = headers(&[("cookie", "a=1; agentd_session=s3"), ("cookie", "b=2")]);
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("s3"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn origins_must_match_the_host_or_public_url() {
        let config = AuthConfig::default();
        let ok = headers(&[
            ("host", "127.0.0.1:7700"),
            ("origin", "http://127.0.0.1:7700"),
        ]);
        assert!(same_origin(&config, &ok));
        let referer = headers(&[("host", "a.example"), ("referer", "https://a.example/x?y")]);
        assert!(same_origin(&config, &referer));
        for bad in [
            headers(&[("host", "a.example"), ("origin", "https://evil.example")]),
            headers(&[("host", "a.example"), ("origin", "null")]),
            headers(&[("host", "a.example")]),
        ] {
            assert!(!same_origin(&config, &bad), "{bad:?}");
        }
        let public = AuthConfig {
            public_url: Some("https://agents.example.com/".into()),
            ..AuthConfig::default()
        };
        let proxied = headers(&[
            ("host", "10.0.0.5:7700"),
            ("origin", "https://agents.example.com"),
        ]);
        assert!(same_origin(&public, &proxied));
        assert!(!same_origin(&config, &proxied));
    }

    #[test]
    fn the_csrf_token_is_tied_to_the_session() {
        let config = AuthConfig::default();
        let csrf = derive_csrf("agentd_ws_abc");
        let cookie_header = format!("agentd_session=agentd_ws_abc; agentd_csrf={csrf}");
        let base = [
            ("host", "h"),
            ("origin", "http://h"),
            ("cookie", cookie_header.as_str()),
        ];
        let with = |token: &str| {
            let mut pairs = base.to_vec();
            pairs.push(("x-csrf-token", token));
            headers(&pairs)
        };
        assert_eq!(check_csrf(&config, &with(&csrf), "agentd_ws_abc"), Ok(()));
        assert_eq!(
            check_csrf(&config, &headers(&base), "agentd_ws_abc"),
            Err(CsrfRefusal::BadToken)
        );
        // Header and cookie agree, but not with this session.
        let planted = derive_csrf("agentd_ws_other");
        let h = headers(&[
            ("host", "h"),
            ("origin", "http://h"),
            ("cookie", &format!("agentd_csrf={planted}")),
            ("x-csrf-token", &planted),
        ]);
        assert_eq!(
            check_csrf(&config, &h, "agentd_ws_abc"),
            Err(CsrfRefusal::BadToken)
        );
    }

    #[test]
    fn secure_follows_tls_at_the_proxy() {
        let plain = AuthConfig::default();
        let proxy = AuthConfig {
            behind_proxy: true,
            ..AuthConfig::default()
        };
        let https = headers(&[("x-forwarded-proto", "https")]);
        assert!(
            !secure(&plain, &https),
            "the header is only trusted behind a proxy"
        );
        assert!(secure(&proxy, &https));
        assert!(!secure(&proxy, &HeaderMap::new()));
        let cookie = set_cookie("a", "b", "/", Duration::from_secs(60), true, true).unwrap();
        assert_eq!(
            cookie,
            "a=b; Path=/; Max-Age=60; SameSite=Lax; HttpOnly; Secure"
        );
    }
}
