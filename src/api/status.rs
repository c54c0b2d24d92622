//! The one mapping from domain errors to gRPC statuses, with google.rpc
//! error details where they help a caller fix the request, and the
//! statuses with which the service's own streams end or are refused.
//! Handlers return a domain `Error` with `?`; `From` makes it a `Status`.

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, PreconditionViolation, StatusExt};

use crate::error::Error;

/// The gRPC status for an error. Internal errors are logged here with their
/// context and reach the caller as an opaque INTERNAL.
impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidArgument(violations) => {
                let message = error_message(&violations);
                let details = ErrorDetails::with_bad_request(
                    violations
                        .into_iter()
                        .map(|violation| {
                            FieldViolation::new(violation.field, violation.description)
                        })
                        .collect::<Vec<_>>(),
                );
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            Error::InvalidDocument(message) => Status::new(Code::InvalidArgument, message),
            Error::NotFound(missing) => {
                let message = format!("no article with {}", missing.join(", "));
                let details = ErrorDetails::with_resource_info(
                    "newswire.v1.Article",
                    missing.join(", "),
                    "",
                    &message,
                );
                Status::with_error_details(Code::NotFound, message, details)
            }
            Error::AlreadyExists(key) => {
                let message = format!("an article with key {key:?} already exists");
                let details =
                    ErrorDetails::with_resource_info("newswire.v1.Article", key, "", &message);
                Status::with_error_details(Code::AlreadyExists, message, details)
            }
            Error::EtagMismatch { expected, actual } => {
                let message = format!(
                    "etag {expected:?} does not match the article's current etag {actual:?}"
                );
                let details =
                    ErrorDetails::with_precondition_failure(vec![PreconditionViolation::new(
                        "ETAG", "etag", &message,
                    )]);
                Status::with_error_details(Code::FailedPrecondition, message, details)
            }
            Error::Unavailable(message) => {
                tracing::warn!(%message, "storage unavailable");
                let details = ErrorDetails::with_retry_info(Some(Duration::from_secs(1)));
                Status::with_error_details(
                    Code::Unavailable,
                    format!("storage unavailable: {message}"),
                    details,
                )
            }
            Error::OutcomeUnknown(message) => {
                tracing::error!(%message, "write outcome unknown");
                Status::new(
                    Code::Unknown,
                    format!(
                        "the write may or may not have been committed: {message}; read before retrying"
                    ),
                )
            }
            Error::RevisionCompacted { requested, oldest } => {
                let message = format!(
                    "start_revision {requested} is older than the change log keeps; \
                     the oldest revision to resume after is {oldest} \
                     (or start over with send_initial)"
                );
                let details = ErrorDetails::with_error_info(
                    "REVISION_COMPACTED",
                    "newswire",
                    [("oldest_revision".to_string(), oldest.to_string())],
                );
                Status::with_error_details(Code::OutOfRange, message, details)
            }
            Error::WatcherTooSlow {
                last_revision,
                buffer,
            } => {
                let message = format!(
                    "the watch fell more than {buffer} changes behind the feed and was ended; \
                     resume with start_revision {last_revision}"
                );
                let details = ErrorDetails::with_error_info(
                    "WATCHER_TOO_SLOW",
                    "newswire",
                    [("last_revision".to_string(), last_revision.to_string())],
                );
                Status::with_error_details(Code::ResourceExhausted, message, details)
            }
            Error::Internal(message) => {
                tracing::error!(%message, "internal error");
                Status::internal("internal error; see the server log")
            }
        }
    }
}

fn error_message(violations: &[crate::error::FieldViolation]) -> String {
    let parts: Vec<String> = violations.iter().map(ToString::to_string).collect();
    format!("invalid argument: {}", parts.join("; "))
}

/// A watch refused because `max_watchers` watch streams are open.
pub fn too_many_watchers(max_watchers: usize) -> Status {
    Status::resource_exhausted(format!(
        "{max_watchers} watch streams are open, the most this server allows \
         (limits.max_watchers); retry later or on another replica"
    ))
}

/// The end of a stream (`what`: "stream", "watch") that carried no message
/// for `idle`.
pub fn stream_idle(what: &str, idle: Duration) -> Status {
    Status::deadline_exceeded(format!(
        "the {what} carried no message for {} s \
         (limits.stream_idle_timeout_seconds)",
        idle.as_secs()
    ))
}

/// The end of a stream that lived `max_lifetime`; `resume` tells the
/// client how to go on.
pub fn stream_lifetime_reached(what: &str, max_lifetime: Duration, resume: &str) -> Status {
    Status::unavailable(format!(
        "the {what} reached its lifetime of {} s \
         (limits.stream_max_lifetime_seconds); {resume}",
        max_lifetime.as_secs()
    ))
}

/// The end of a watch whose feed stopped without an error: the server is
/// shutting down, and the client resumes elsewhere.
pub fn watch_ended_by_shutdown() -> Status {
    Status::unavailable(
        "the watch ended because the server is shutting down; \
         watch again with start_revision = the last revision received",
    )
}
