//! Running one HTTP hook: POST the event JSON, signed, with retries.

use std::collections::BTreeMap;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::HookStatus;

/// The header carrying `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "X-Agentd-Signature-256";

/// When an HTTP hook is tried again, as data so tests can shorten it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpRetry {
    /// Further attempts after the first, on connect errors and 5xx only: those
    /// are the failures where the receiver did not act on the event.
    pub retries: u32,
    /// Doubled after each attempt.
    pub base_delay: Duration,
}

impl Default for HttpRetry {
    fn default() -> Self {
        Self {
            retries: 2,
            base_delay: Duration::from_millis(200),
        }
    }
}

/// The value of [`SIGNATURE_HEADER`] for `body`, for senders and receivers alike.
pub fn sign_body(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length, so this never fails in practice; an empty
    // signature would simply not verify.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + digest.len() * 2);
    out.push_str("sha256=");
    for byte in digest.iter() {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

pub(crate) struct HttpRun {
    pub status: HookStatus,
    /// The body of a 2xx response.
    pub body: Option<String>,
}

pub(crate) struct HttpRequest<'a> {
    pub url: &'a str,
    pub headers: &'a BTreeMap<String, String>,
    pub body: &'a [u8],
    pub secret: Option<&'a [u8]>,
    pub timeout: Duration,
}

pub(crate) async fn post(
    client: &reqwest::Client,
    request: &HttpRequest<'_>,
    retry: HttpRetry,
) -> HttpRun {
    let signature = request.secret.map(|secret| sign_body(secret, request.body));
    let mut attempt = 0;
    loop {
        let mut builder = client
            .post(request.url)
            .timeout(request.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(request.body.to_vec());
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        if let Some(signature) = &signature {
            builder = builder.header(SIGNATURE_HEADER, signature);
        }
        match builder.send().await {
            Ok(response) if response.status().is_server_error() => {
                let status = HookStatus::Http {
                    status: response.status().as_u16(),
                };
                if attempt >= retry.retries {
                    return HttpRun { status, body: None };
                }
            }
            Ok(response) => {
                let code = response.status();
                let status = HookStatus::Http {
                    status: code.as_u16(),
                };
                if !code.is_success() {
                    return HttpRun { status, body: None };
                }
                return match response.text().await {
                    Ok(body) => HttpRun {
                        status,
                        body: Some(body),
                    },
                    Err(e) => HttpRun {
                        status: failure(&e),
                        body: None,
                    },
                };
            }
            Err(e) if e.is_connect() && attempt < retry.retries => {}
            Err(e) => {
                return HttpRun {
                    status: failure(&e),
                    body: None,
                };
            }
        }
        let factor = 2u32.saturating_pow(attempt);
        tokio::time::sleep(retry.base_delay.saturating_mul(factor)).await;
        attempt += 1;
    }
}

fn failure(error: &reqwest::Error) -> HookStatus {
    if error.is_timeout() {
        HookStatus::TimedOut
    } else {
        HookStatus::HttpFailed {
            error: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_vector() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign_body(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
