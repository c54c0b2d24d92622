//! The one error type of the domain and the stores. `api::status` maps it to
//! gRPC statuses in one exhaustive match.

use std::fmt;

/// One bad field of a request, named by its path (`query.min_heat`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field`, described for the caller.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: {}", self.field, self.description)
    }
}

/// Everything that can go wrong below the gRPC edge.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The request is malformed; each violation names its field.
    #[error("invalid argument: {}", join(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// A document could not be read; the message names source and line.
    #[error("{0}")]
    InvalidDocument(String),
    /// Nothing matches what was asked for (the message says what).
    #[error("not found: {}", .0.join(", "))]
    NotFound(Vec<String>),
    /// The key is taken by another article.
    #[error("an article with key {0:?} already exists")]
    AlreadyExists(String),
    /// An etag precondition failed.
    #[error("etag mismatch: expected {expected:?}, the article's etag is now {actual:?}")]
    EtagMismatch { expected: String, actual: String },
    /// The storage backend cannot be reached right now; retrying may work.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A write may or may not have committed (the connection died during
    /// commit). Never reported as success.
    #[error("outcome unknown: {0}")]
    OutcomeUnknown(String),
    /// A change feed was asked to resume below the change log's compaction
    /// mark: what it asked for is gone. `oldest` is the lowest revision one
    /// can still resume after.
    #[error(
        "revision {requested} was compacted away; the oldest revision to resume after is {oldest}"
    )]
    RevisionCompacted { requested: i64, oldest: i64 },
    /// A watcher fell more than its buffer behind the change feed; it may
    /// resume after `last_revision` with nothing missed.
    #[error(
        "the watcher fell more than {buffer} changes behind; resume after revision {last_revision}"
    )]
    WatcherTooSlow { last_revision: i64, buffer: usize },
    /// A bug or a broken invariant; logged with context, opaque to callers.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// An invalid-argument error with a single violation.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }
}

fn join(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
