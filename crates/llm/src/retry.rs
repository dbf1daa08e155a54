//! Retry as data: when to retry and how long to wait, mirroring the official
//! SDK (PROTOCOLS §1.9) so agentd behaves like every other Anthropic client.

use std::future::Future;
use std::time::{Duration, SystemTime};

use crate::error::LlmError;

/// How many times to try a request and how to space the attempts.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts, including the first one (3 = 1 + 2 retries).
    pub max_attempts: u32,
    /// Backoff for the first retry; doubled on each further retry.
    pub base_delay: Duration,
    /// Cap for the exponential backoff.
    pub max_delay: Duration,
    /// Fraction (0..=1) by which a computed backoff is randomly shortened.
    pub jitter: f64,
    /// Server hints longer than this are ignored in favour of our backoff.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            jitter: 0.25,
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A single attempt, never retried.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The default attempt count with millisecond backoff, for tests.
    /// Server hints are still honoured, so `retry-after` stays observable.
    pub fn fast() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(10),
            jitter: 0.0,
            ..Self::default()
        }
    }

    /// How long to wait before the next attempt, given how many retries were
    /// already taken and the server's hint (see [`server_hint`]).
    pub fn delay(&self, retries_so_far: u32, server_hint: Option<Duration>) -> Duration {
        if let Some(hint) = server_hint
            && !hint.is_zero()
            && hint <= self.max_retry_after
        {
            return hint;
        }
        let factor = 2u32.saturating_pow(retries_so_far);
        let backoff = self.base_delay.saturating_mul(factor).min(self.max_delay);
        let jitter = self.jitter.clamp(0.0, 1.0) * rand::random::<f64>();
        backoff.mul_f64(1.0 - jitter)
    }

    /// Whether another attempt is allowed after `attempts_made` attempts.
    pub fn has_attempts_left(&self, attempts_made: u32) -> bool {
        attempts_made < self.max_attempts
    }
}

/// Runs `op` (given the retry count) until it succeeds, fails for good, or
/// the policy's attempts are used up, sleeping per [`RetryPolicy::delay`].
pub(crate) async fn run_with_retry<T, F, Fut>(
    policy: &RetryPolicy,
    mut op: F,
) -> Result<T, LlmError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, LlmError>>,
{
    let mut retries = 0;
    loop {
        match op(retries).await {
            Err(err) if err.is_retryable() && policy.has_attempts_left(retries + 1) => {
                let delay = policy.delay(retries, err.retry_after());
                tracing::warn!(error = %err, retries, ?delay, "retrying model request");
                tokio::time::sleep(delay).await;
                retries += 1;
            }
            result => return result,
        }
    }
}

/// The SDK's `_should_retry` for an HTTP response: `x-should-retry` wins,
/// then 408, 409, 429 and every 5xx are retried.
pub fn should_retry_status(status: u16, x_should_retry: Option<&str>) -> bool {
    match x_should_retry.map(str::trim) {
        Some("true") => return true,
        Some("false") => return false,
        _ => {}
    }
    matches!(status, 408 | 409 | 429) || status >= 500
}

/// The server's wait hint: `retry-after-ms` (float milliseconds) first, then
/// `retry-after` as float seconds or an HTTP date relative to `now`.
pub fn server_hint(
    retry_after_ms: Option<&str>,
    retry_after: Option<&str>,
    now: SystemTime,
) -> Option<Duration> {
    if let Some(ms) = retry_after_ms.and_then(|v| v.trim().parse::<f64>().ok()) {
        return Duration::try_from_secs_f64(ms / 1000.0).ok();
    }
    let value = retry_after?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let at = httpdate::parse_http_date(value).ok()?;
    at.duration_since(now).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps_without_jitter() {
        let policy = RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        let delays: Vec<_> = (0..6).map(|n| policy.delay(n, None)).collect();
        let secs = |s: f64| Duration::from_secs_f64(s);
        assert_eq!(
            delays,
            vec![
                secs(0.5),
                secs(1.0),
                secs(2.0),
                secs(4.0),
                secs(8.0),
                secs(8.0)
            ]
        );
    }

    #[test]
    fn jitter_only_shortens() {
        let policy = RetryPolicy::default();
        for _ in 0..100 {
            let d = policy.delay(1, None);
            assert!(
                d <= Duration::from_secs(1) && d >= Duration::from_millis(750),
                "{d:?}"
            );
        }
    }

    #[test]
    fn server_hints_are_honoured_only_within_range() {
        let policy = RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            policy.delay(0, Some(Duration::ZERO)),
            Duration::from_millis(500)
        );
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(120))),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn hints_parse_from_all_three_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(
            server_hint(Some("1500"), Some("9"), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            server_hint(None, Some("2.5"), now),
            Some(Duration::from_millis(2500))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(
            server_hint(None, Some(&date), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(server_hint(None, Some("soon"), now), None);
        assert_eq!(server_hint(None, None, now), None);
    }

    #[test]
    fn retry_decision_matches_the_sdk() {
        for status in [408, 409, 429, 500, 502, 529] {
            assert!(should_retry_status(status, None), "{status}");
        }
        for status in [400, 401, 403, 404, 413, 422] {
            assert!(!should_retry_status(status, None), "{status}");
        }
        assert!(!should_retry_status(500, Some("false")));
        assert!(should_retry_status(400, Some("true")));
    }

    #[test]
    fn attempts_are_counted_including_the_first() {
        assert!(!RetryPolicy::none().has_attempts_left(1));
        assert!(RetryPolicy::default().has_attempts_left(2));
        assert!(!RetryPolicy::default().has_attempts_left(3));
    }
}
