//! PostgreSQL failures and their mapping to domain errors.
//!
//! Inside the store every step returns a `Failure`: either a domain outcome
//! that is final (not found, etag mismatch, invalid content …) or a database
//! error still carrying its SQLSTATE, so the transaction runner can tell a
//! serialization failure or deadlock (retry the whole transaction) from the
//! rest. `Failure::into_error` is the one mapping to `Error`.

use std::error::Error as _;

use deadpool_postgres::PoolError;
use tokio_postgres::error::SqlState;

use crate::error::Error;

/// Why a step of the store did not complete.
#[derive(Debug)]
pub(super) enum Failure {
    /// A final answer for the caller; never retried.
    Domain(Error),
    /// What PostgreSQL (or the connection to it) said while `doing`
    /// something.
    Database {
        doing: String,
        error: tokio_postgres::Error,
    },
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self::Domain(error)
    }
}

impl Failure {
    /// A database failure while `doing` something.
    pub(super) fn database(doing: &str, error: tokio_postgres::Error) -> Self {
        Self::Database {
            doing: doing.to_string(),
            error,
        }
    }

    /// Whether PostgreSQL rolled the transaction back because of a
    /// concurrent one (serialization failure, deadlock), so running it again
    /// may succeed.
    pub(super) fn is_retryable(&self) -> bool {
        match self {
            Self::Database { error, .. } => matches!(
                error.code(),
                Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE
                    || *code == SqlState::T_R_DEADLOCK_DETECTED
            ),
            Self::Domain(_) => false,
        }
    }

    /// Whether this is the unique constraint on `articles.key`.
    pub(super) fn is_key_conflict(&self) -> bool {
        match self {
            Self::Database { error, .. } => error.as_db_error().is_some_and(|database_error| {
                *database_error.code() == SqlState::UNIQUE_VIOLATION
                    && database_error.constraint() == Some(KEY_CONSTRAINT)
            }),
            Self::Domain(_) => false,
        }
    }

    /// The domain error this failure is for the caller.
    pub(super) fn into_error(self) -> Error {
        match self {
            Self::Domain(error) => error,
            Self::Database { doing, error } => database_error(&doing, &error),
        }
    }
}

/// The name of the unique constraint on `articles.key` (see `schema`).
pub(super) const KEY_CONSTRAINT: &str = "articles_key_unique";

/// Maps a PostgreSQL error while `doing` something to a domain error.
///
/// - No answer from the server (connection refused, closed or reset,
///   TLS, timeouts), connection exceptions (08xxx), shutdowns and restarts
///   (57P01–57P04), cancelled statements, exhausted resources (53xxx), lock
///   timeouts, a read-only server (a standby during a failover), and
///   serialization failures or deadlocks that outlived their retries:
///   `Unavailable`, as retrying later may work.
/// - A NUL character (which PostgreSQL text cannot hold) or a value over a
///   PostgreSQL size limit (an index entry over ~2.7 KB, a search vector
///   over 1 MB): the caller's content, `InvalidArgument`.
/// - Everything else is a bug or a broken invariant: `Internal`.
pub(super) fn database_error(doing: &str, error: &tokio_postgres::Error) -> Error {
    let message = format!("postgres, {doing}: {}", describe(error));
    let Some(code) = error.code() else {
        return if error.is_closed() || has_io_source(error) || is_timeout(error) {
            Error::Unavailable(message)
        } else {
            Error::Internal(message)
        };
    };
    let class = &code.code()[..2];
    if class == "08"
        || class == "53"
        || *code == SqlState::ADMIN_SHUTDOWN
        || *code == SqlState::CRASH_SHUTDOWN
        || *code == SqlState::CANNOT_CONNECT_NOW
        || *code == SqlState::DATABASE_DROPPED
        || *code == SqlState::QUERY_CANCELED
        || *code == SqlState::LOCK_NOT_AVAILABLE
        || *code == SqlState::READ_ONLY_SQL_TRANSACTION
        || *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
        || class == "28"
        || *code == SqlState::INVALID_CATALOG_NAME
    {
        Error::Unavailable(message)
    } else if *code == SqlState::CHARACTER_NOT_IN_REPERTOIRE
        || *code == SqlState::PROGRAM_LIMIT_EXCEEDED
    {
        Error::invalid("article", message)
    } else {
        Error::Internal(message)
    }
}

/// Maps a failed `COMMIT`. Only a failure PostgreSQL reported as a
/// rollback (class 40: the transaction was rolled back, retry it) or a
/// constraint checked at commit (class 23) says for certain that nothing
/// was stored; after anything else — above all a connection lost while the
/// commit was in flight, or a shutdown while waiting for a synchronous
/// standby — the write may or may not have committed.
pub(super) fn commit_failure(doing: &str, error: tokio_postgres::Error) -> Failure {
    let certain = error
        .code()
        .is_some_and(|code| matches!(&code.code()[..2], "40" | "23"));
    if certain {
        Failure::database(doing, error)
    } else {
        Failure::Domain(Error::OutcomeUnknown(format!(
            "postgres, committing {doing}: {}",
            describe(&error)
        )))
    }
}

/// A checkout from the pool that failed.
pub(super) fn pool_failure(error: PoolError) -> Failure {
    match error {
        PoolError::Backend(error) => Failure::database("connecting", error),
        PoolError::Timeout(kind) => Failure::Domain(Error::Unavailable(format!(
            "postgres: no connection available in time ({kind:?} timed out)"
        ))),
        PoolError::Closed => Failure::Domain(Error::Unavailable(
            "postgres: the connection pool is closed".to_string(),
        )),
        other => Failure::Domain(Error::Internal(format!(
            "postgres: the connection pool failed: {other}"
        ))),
    }
}

/// The error with its database detail: tokio-postgres's own `Display`
/// says only "db error".
pub(super) fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(database_error) => format!(
            "{} (SQLSTATE {})",
            database_error.message(),
            database_error.code().code()
        ),
        None => match error.source() {
            Some(source) => format!("{error}: {source}"),
            None => error.to_string(),
        },
    }
}

fn has_io_source(error: &tokio_postgres::Error) -> bool {
    let mut source = error.source();
    while let Some(current) = source {
        if current.is::<std::io::Error>() {
            return true;
        }
        source = current.source();
    }
    false
}

/// tokio-postgres's connect timeout has no source and no public kind; its
/// message is the one way to recognise it.
fn is_timeout(error: &tokio_postgres::Error) -> bool {
    error.to_string().starts_with("timeout")
}

/// Adds what was being done to PostgreSQL errors.
pub(super) trait PostgresContext<T> {
    /// Wraps the error as `Failure::Database`.
    fn context(self, doing: &str) -> Result<T, Failure>;
}

impl<T> PostgresContext<T> for Result<T, tokio_postgres::Error> {
    fn context(self, doing: &str) -> Result<T, Failure> {
        self.map_err(|error| Failure::database(doing, error))
    }
}
