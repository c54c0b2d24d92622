//! Admission: whether the server takes on a call now. Two limits, both
//! answered at once instead of queueing without bound:
//! - when configured, each caller may start `requests_per_second_per_caller`
//!   calls per second on average (bursts of `burst_per_caller`); more are
//!   refused with RESOURCE_EXHAUSTED and a RetryInfo, so one noisy caller
//!   cannot starve the others. Each refusal is counted by caller
//!   (`metrics::RATE_LIMITED`), and the first of each caller is logged;
//! - the server serves at most `max_concurrent_requests` calls at once;
//!   beyond that a call is shed with UNAVAILABLE (retryable).

use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;

use super::refusal;

/// A call's place among those being served; released when dropped.
pub type Permit = OwnedSemaphorePermit;

/// Every this many admissions, callers whose budget is full again are
/// forgotten, so the limiter's memory follows the active callers (JWT
/// subjects are not a closed set).
const FORGET_IDLE_CALLERS_EVERY: u64 = 4096;

/// How many callers get a name of their own in the refusal metric and a
/// log line; callers limited after them are counted as `other`, since JWT
/// subjects are not a closed set and a metric's labels must stay bounded.
const MAX_NAMED_LIMITED_CALLERS: usize = 1000;

/// What admission allows (`[limits]` in the configuration file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionLimits {
    /// The rate each caller may start calls at; `None`: no per-caller limit.
    pub per_caller: Option<CallerRate>,
    /// Calls served at once by the whole server.
    pub max_concurrent_requests: usize,
}

/// A per-caller rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallerRate {
    /// Calls per second one caller may start, on average.
    pub per_second: NonZeroU32,
    /// Calls one caller may start in a burst above that rate.
    pub burst: NonZeroU32,
}

/// The admission limits.
pub struct Admission {
    per_caller: Option<DefaultKeyedRateLimiter<String>>,
    /// The callers limited so far (up to `MAX_NAMED_LIMITED_CALLERS`).
    limited_callers: Mutex<HashSet<String>>,
    in_flight: Arc<Semaphore>,
    max_in_flight: usize,
    admissions: AtomicU64,
}

impl Admission {
    /// Admission within `limits`.
    pub fn new(limits: AdmissionLimits) -> Self {
        let per_caller = limits.per_caller.map(|rate| {
            RateLimiter::keyed(Quota::per_second(rate.per_second).allow_burst(rate.burst))
        });
        Self {
            per_caller,
            limited_callers: Mutex::new(HashSet::new()),
            in_flight: Arc::new(Semaphore::new(limits.max_concurrent_requests)),
            max_in_flight: limits.max_concurrent_requests,
            admissions: AtomicU64::new(0),
        }
    }

    /// Admits a call of `caller` (`None`: an open method without
    /// credentials, which only the concurrency limit applies to).
    #[allow(clippy::result_large_err)]
    pub fn admit(&self, caller: Option<&str>) -> Result<Permit, Status> {
        if let (Some(limiter), Some(caller)) = (&self.per_caller, caller) {
            if self
                .admissions
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(FORGET_IDLE_CALLERS_EVERY)
            {
                limiter.retain_recent();
            }
            if let Err(not_until) = limiter.check_key(&caller.to_string()) {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                self.count_limited(caller);
                return Err(refusal::rate_limited(caller, wait));
            }
        }
        self.in_flight
            .clone()
            .try_acquire_owned()
            .map_err(|_| refusal::overloaded(self.max_in_flight))
    }

    /// Counts a refusal of `caller` over its rate, and logs the first one.
    fn count_limited(&self, caller: &str) {
        let label = {
            let mut limited = self
                .limited_callers
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if limited.contains(caller) {
                caller.to_string()
            } else if limited.len() < MAX_NAMED_LIMITED_CALLERS {
                limited.insert(caller.to_string());
                tracing::warn!(
                    caller,
                    "caller is being rate limited (limits.requests_per_second_per_caller); \
                     further refusals are counted in {}",
                    crate::metrics::RATE_LIMITED
                );
                caller.to_string()
            } else {
                "other".to_string()
            }
        };
        metrics::counter!(crate::metrics::RATE_LIMITED, "caller" => label).increment(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_caller: Option<CallerRate>) -> AdmissionLimits {
        AdmissionLimits {
            per_caller,
            max_concurrent_requests: 16,
        }
    }

    #[test]
    fn without_a_caller_rate_one_caller_is_never_throttled() {
        let admission = Admission::new(limits(None));
        for call in 0..20_000 {
            let permit = admission.admit(Some("search-indexer"));
            assert!(permit.is_ok(), "call {call} was refused: {permit:?}");
        }
    }

    #[test]
    fn a_caller_over_its_rate_is_refused_and_remembered_once() {
        let rate = CallerRate {
            per_second: NonZeroU32::new(1).expect("1 is not zero"),
            burst: NonZeroU32::new(3).expect("3 is not zero"),
        };
        let admission = Admission::new(limits(Some(rate)));
        let refused = (0..10)
            .filter(|_| admission.admit(Some("flooder")).is_err())
            .count();
        assert!(
            refused >= 6,
            "only {refused} of 10 calls over a burst of 3 were refused"
        );
        assert!(
            admission.admit(Some("neighbour")).is_ok(),
            "another caller keeps its budget"
        );
        let limited = admission.limited_callers.lock().expect("not poisoned");
        assert_eq!(*limited, HashSet::from(["flooder".to_string()]));
    }
}
