//! Login throttling. Each failed login makes the next attempt wait longer
//! (exponential backoff after a few free attempts), per account and per
//! client IP, and an account locks after `lockout_after` failures until
//! `lockout_window` has passed or an admin unlocks it.
//!
//! The account's state is in the database (it survives restarts and holds
//! across replicas); the per-IP state is in memory, which is enough to slow
//! one address spraying many names at one replica.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use agentd_store::{LoginFailures, UserRecord};
use time::OffsetDateTime;

/// How failed logins are slowed down and locked out.
#[derive(Clone, Debug)]
pub struct LoginPolicy {
    /// Failures before an account locks (default 10).
    pub lockout_after: u32,
    /// How long a lock lasts, and after how long without failures the count
    /// starts over (default 15 minutes).
    pub lockout_window: Duration,
    /// Failures allowed back to back before backoff starts (default 3).
    pub free_attempts: u32,
    /// The first backoff delay; it doubles with each further failure
    /// (default 1 s).
    pub backoff_base: Duration,
    /// The longest backoff delay (default 60 s).
    pub backoff_max: Duration,
    /// Free attempts per client IP, over all names (default 20).
    pub ip_free_attempts: u32,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        Self {
            lockout_after: 10,
            lockout_window: Duration::from_secs(15 * 60),
            free_attempts: 3,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            ip_free_attempts: 20,
        }
    }
}

/// Why a login attempt is refused before the password is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Locked { retry_after: Duration },
    Backoff { retry_after: Duration },
}

impl LoginPolicy {
    fn backoff(&self, failures: u32) -> Duration {
        if failures < self.free_attempts {
            return Duration::ZERO;
        }
        let doublings = (failures - self.free_attempts).min(30);
        self.backoff_base
            .saturating_mul(1u32 << doublings)
            .min(self.backoff_max)
    }

    /// The account's failures that still count at `now` (an expired lock or
    /// a long quiet spell starts the count over).
    pub fn current(&self, user: &UserRecord, now: OffsetDateTime) -> LoginFailures {
        let expired_lock = user.locked_until.is_some_and(|t| t <= now);
        let quiet = user
            .last_failed_at
            .is_some_and(|t| now - t > self.lockout_window);
        if expired_lock || quiet {
            LoginFailures {
                count: 0,
                last_failed_at: None,
                locked_until: None,
            }
        } else {
            LoginFailures {
                count: user.failed_logins,
                last_failed_at: user.last_failed_at,
                locked_until: user.locked_until,
            }
        }
    }

    /// Whether the account may try now.
    pub fn check_account(&self, f: LoginFailures, now: OffsetDateTime) -> Result<(), Refusal> {
        if let Some(until) = f.locked_until
            && until > now
        {
            return Err(Refusal::Locked {
                retry_after: positive(until - now),
            });
        }
        self.check_backoff(f.count, f.last_failed_at, now)
    }

    fn check_backoff(
        &self,
        count: u32,
        last: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<(), Refusal> {
        let Some(last) = last else { return Ok(()) };
        let next = last + self.backoff(count);
        if next > now {
            return Err(Refusal::Backoff {
                retry_after: positive(next - now),
            });
        }
        Ok(())
    }

    /// The account's state after one more failure at `now`.
    pub fn after_failure(&self, f: LoginFailures, now: OffsetDateTime) -> LoginFailures {
        let count = f.count.saturating_add(1);
        LoginFailures {
            count,
            last_failed_at: Some(now),
            locked_until: (count >= self.lockout_after).then(|| now + self.lockout_window),
        }
    }
}

fn positive(d: time::Duration) -> Duration {
    Duration::try_from(d).unwrap_or(Duration::ZERO)
}

/// Per-IP failure counts.
#[derive(Debug, Default)]
pub struct IpThrottle {
    entries: Mutex<HashMap<IpAddr, (u32, OffsetDateTime)>>,
}

/// Past this many addresses, entries older than the window are dropped.
const MAX_TRACKED_IPS: usize = 10_000;

impl IpThrottle {
    pub fn check(
        &self,
        policy: &LoginPolicy,
        ip: Option<IpAddr>,
        now: OffsetDateTime,
    ) -> Result<(), Refusal> {
        let Some(ip) = ip else { return Ok(()) };
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(&(count, last)) = entries.get(&ip) else {
            return Ok(());
        };
        if now - last > policy.lockout_window {
            return Ok(());
        }
        let ip_policy = LoginPolicy {
            free_attempts: policy.ip_free_attempts,
            ..policy.clone()
        };
        ip_policy.check_backoff(count, Some(last), now)
    }

    pub fn failed(&self, policy: &LoginPolicy, ip: Option<IpAddr>, now: OffsetDateTime) {
        let Some(ip) = ip else { return };
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_TRACKED_IPS {
            entries.retain(|_, (_, last)| now - *last <= policy.lockout_window);
        }
        let entry = entries.entry(ip).or_insert((0, now));
        if now - entry.1 > policy.lockout_window {
            entry.0 = 0;
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn policy() -> LoginPolicy {
        LoginPolicy {
            lockout_after: 5,
            lockout_window: Duration::from_secs(60),
            free_attempts: 2,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(10),
            ip_free_attempts: 3,
        }
    }

    #[test]
    fn backoff_doubles_after_the_free_attempts_then_locks() {
        let p = policy();
        let t0 = datetime!(2026-01-01 0:00 UTC);
        let mut f = LoginFailures {
            count: 0,
            last_failed_at: None,
            locked_until: None,
        };
        let mut waits = Vec::new();
        for _ in 0..5 {
            f = p.after_failure(f, t0);
            waits.push(match p.check_account(f, t0) {
                Ok(()) => 0,
                Err(Refusal::Backoff { retry_after }) => retry_after.as_secs(),
                Err(Refusal::Locked { .. }) => 999,
            });
        }
        assert_eq!(waits, vec![0, 1, 2, 4, 999]);
        assert_eq!(f.locked_until, Some(t0 + Duration::from_secs(60)));
        // After the window the lock is gone and the count starts over.
        let later = t0 + Duration::from_secs(61);
        let user = UserRecord {
            id: "u".into(),
            name: "u".into(),
            role: agentd_protocol::UserRole::Member,
            password_hash: None,
            disabled_at: None,
            failed_logins: f.count,
            last_failed_at: f.last_failed_at,
            locked_until: f.locked_until,
            created_at: t0,
        };
        assert_eq!(p.current(&user, later).count, 0);
        assert_eq!(p.check_account(p.current(&user, later), later), Ok(()));
    }

    #[test]
    fn an_ip_is_slowed_after_its_free_attempts() {
        let p = policy();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = datetime!(2026-01-01 0:00 UTC);
        let ips = IpThrottle::default();
        for _ in 0..3 {
            assert_eq!(ips.check(&p, Some(ip), t0), Ok(()));
            ips.failed(&p, Some(ip), t0);
        }
        assert!(matches!(
            ips.check(&p, Some(ip), t0),
            Err(Refusal::Backoff { .. })
        ));
        assert_eq!(ips.check(&p, Some("10.0.0.2".parse().unwrap()), t0), Ok(()));
    }
}
