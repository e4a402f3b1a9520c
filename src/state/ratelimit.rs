//! Rate limits per client address (and, for the unfreeze flow, per account),
//! with governor's GCRA buckets. A refusal says how long to wait.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Why the state shared by handlers did not give an answer: a limit was
/// reached, a dependency does not answer, or a read failed. The edge renders
/// each as its problem (`429`, `503`, `500`).
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("too many {what} requests; try again later")]
    Limited { what: &'static str, retry_after: u64 },
    #[error("{0}")]
    Unavailable(&'static str),
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Refusal {
    fn from(error: sqlx::Error) -> Self {
        Refusal::Failed(error.into())
    }
}

impl Refusal {
    /// A refusal by the limit on `what`, retried after `wait` (at least a second).
    pub fn limited(what: &'static str, wait: Duration) -> Self {
        Refusal::Limited {
            what,
            retry_after: wait.as_secs().max(1),
        }
    }
}

pub struct KeyedLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
    what: &'static str,
}

impl KeyedLimiter {
    /// Allows `burst` requests at once per key, refilled one every `refill`.
    pub fn new(what: &'static str, refill: Duration, burst: u32) -> Self {
        let burst = NonZeroU32::new(burst.max(1)).expect("at least one");
        let quota = Quota::with_period(refill.max(Duration::from_millis(1)))
            .expect("a non-zero period")
            .allow_burst(burst);
        Self {
            limiter: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
            what,
        }
    }

    /// Takes one request from `key`'s bucket, or says when to retry.
    pub fn check(&self, key: &str) -> Result<(), Refusal> {
        self.limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| Refusal::limited(self.what, not_until.wait_time_from(self.clock.now())))
    }

    /// Forgets keys whose buckets are full again, so memory follows the
    /// number of recent clients, not every client ever seen.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// How often idle buckets are dropped.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_refused_after_its_burst_and_others_are_not() {
        let limiter = KeyedLimiter::new("test", Duration::from_secs(60), 3);
        for _ in 0..3 {
            assert!(limiter.check("a").is_ok());
        }
        match limiter.check("a") {
            Err(Refusal::Limited { retry_after, .. }) => assert!(retry_after >= 1),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(limiter.check("b").is_ok());
    }
}
