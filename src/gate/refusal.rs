//! The statuses with which the gate refuses or cuts a call: every status
//! the gate answers with is built here, as every status of the service
//! itself is built in `api::status` (which the gate cannot use: `api`
//! depends on the gate, not the reverse).

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// A call the access decision refused (`auth::Denial`: UNAUTHENTICATED or
/// PERMISSION_DENIED, with a message that never repeats a credential).
pub fn denied(code: Code, message: String) -> Status {
    Status::new(code, message)
}

/// A call of `caller` over its rate limit: RESOURCE_EXHAUSTED, with a
/// RetryInfo of when its budget allows another.
pub fn rate_limited(caller: &str, wait: Duration) -> Status {
    let message = format!(
        "caller {caller:?} exceeded its rate limit (limits.requests_per_second_per_caller); \
         retry after {} ms",
        wait.as_millis().max(1)
    );
    let details = ErrorDetails::with_retry_info(Some(wait.max(Duration::from_millis(1))));
    Status::with_error_details(Code::ResourceExhausted, message, details)
}

/// A call shed because `max_in_flight` calls are in progress: UNAVAILABLE,
/// retryable with backoff.
pub fn overloaded(max_in_flight: usize) -> Status {
    let message = format!(
        "the server is overloaded ({max_in_flight} calls in progress, \
         limits.max_concurrent_requests); retry with backoff"
    );
    let details = ErrorDetails::with_retry_info(Some(Duration::from_millis(100)));
    Status::with_error_details(Code::Unavailable, message, details)
}

/// A call still running when the shutdown grace period ended: UNAVAILABLE,
/// which clients may retry elsewhere.
pub fn grace_period_over() -> Status {
    Status::unavailable(
        "newswire is shutting down and ended this call after its grace period; \
         retry (imports are idempotent)",
    )
}
