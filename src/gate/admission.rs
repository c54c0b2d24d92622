//! Admission: whether the server takes on a call now. Two limits, both
//! answered at once instead of queueing without bound:
//! - each caller may start `requests_per_second_per_caller` calls per
//!   second on average (bursts of `burst_per_caller`); more are refused
//!   with RESOURCE_EXHAUSTED and a RetryInfo, so one noisy caller cannot
//!   starve the others;
//! - the server serves at most `max_concurrent_requests` calls at once;
//!   beyond that a call is shed with UNAVAILABLE (retryable).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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

/// What admission allows (`[limits]` in the configuration file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionLimits {
    /// Calls per second one caller may start, on average.
    pub requests_per_second_per_caller: NonZeroU32,
    /// Calls one caller may start in a burst above that rate.
    pub burst_per_caller: NonZeroU32,
    /// Calls served at once by the whole server.
    pub max_concurrent_requests: usize,
}

/// The admission limits.
pub struct Admission {
    per_caller: DefaultKeyedRateLimiter<String>,
    in_flight: Arc<Semaphore>,
    max_in_flight: usize,
    admissions: AtomicU64,
}

impl Admission {
    /// Admission within `limits`.
    pub fn new(limits: AdmissionLimits) -> Self {
        let quota = Quota::per_second(limits.requests_per_second_per_caller)
            .allow_burst(limits.burst_per_caller);
        Self {
            per_caller: RateLimiter::keyed(quota),
            in_flight: Arc::new(Semaphore::new(limits.max_concurrent_requests)),
            max_in_flight: limits.max_concurrent_requests,
            admissions: AtomicU64::new(0),
        }
    }

    /// Admits a call of `caller` (`None`: an open method without
    /// credentials, which only the concurrency limit applies to).
    #[allow(clippy::result_large_err)]
    pub fn admit(&self, caller: Option<&str>) -> Result<Permit, Status> {
        if self
            .admissions
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(FORGET_IDLE_CALLERS_EVERY)
        {
            self.per_caller.retain_recent();
        }
        if let Some(caller) = caller
            && let Err(not_until) = self.per_caller.check_key(&caller.to_string())
        {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            return Err(refusal::rate_limited(caller, wait));
        }
        self.in_flight
            .clone()
            .try_acquire_owned()
            .map_err(|_| refusal::overloaded(self.max_in_flight))
    }
}
