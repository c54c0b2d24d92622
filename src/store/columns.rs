//! How both stores keep domain values in their columns: the columns
//! extracted from content for filters and orders, the names of change
//! kinds, the precision of times, and ids and keys read back.
//!
//! Each database spells these in its own types (SQLite integers, PostgreSQL
//! `timestamptz` and `uuid`); what they are is decided here, once.

use chrono::{DateTime, SubsecRound, Utc};

use crate::article::{ArticleContent, ArticleId, ArticleKey};
use crate::error::Error;
use crate::query::SortField;
use crate::store::ChangeKind;

/// The `articles` columns filters and orders read, extracted from content.
pub(super) struct ExtractedColumns<'a> {
    pub(super) published_at: i64,
    pub(super) published_nanos: i32,
    pub(super) sort_heat: i64,
    pub(super) sort_quality: i64,
    pub(super) published: Option<bool>,
    pub(super) category: Option<&'a str>,
    pub(super) kind: Option<&'a str>,
    pub(super) provider_domain: Option<&'a str>,
}

impl<'a> ExtractedColumns<'a> {
    pub(super) fn of(content: &'a ArticleContent) -> Self {
        Self {
            published_at: content.sort_value(SortField::PublishedDateTime),
            published_nanos: nanos_below_micros(content.published_date_time),
            sort_heat: content.sort_value(SortField::Heat),
            sort_quality: content.sort_value(SortField::Quality),
            published: content.published,
            category: content.category.as_deref(),
            kind: content.kind.as_deref(),
            provider_domain: content
                .provider
                .as_ref()
                .and_then(|provider| provider.domain.as_deref()),
        }
    }
}

/// The nanoseconds of `time` below its whole microsecond (0 to 999), kept
/// beside `published_at` so time bounds compare exactly.
pub(super) fn nanos_below_micros(time: DateTime<Utc>) -> i32 {
    // Below 1,000, so the cast is exact.
    (time.timestamp_subsec_nanos() % 1000) as i32
}

/// The current time at the precision the stores keep (microseconds), so
/// what a write returns equals what a later read returns.
pub(super) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

impl ChangeKind {
    /// How the kind is spelled in the change log's `kind` column.
    pub(super) fn column_name(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Updated => "updated",
            ChangeKind::Deleted => "deleted",
        }
    }

    /// The kind spelled `text` in `column` (named in the error: a bad value
    /// is a broken invariant, not a caller's mistake).
    pub(super) fn from_column_name(text: &str, column: &str) -> Result<Self, Error> {
        match text {
            "created" => Ok(ChangeKind::Created),
            "updated" => Ok(ChangeKind::Updated),
            "deleted" => Ok(ChangeKind::Deleted),
            other => Err(Error::Internal(format!(
                "{column} holds {other:?}, not a change kind"
            ))),
        }
    }
}

/// An id read back from the database in its text form; a bad one is a
/// broken invariant, not a caller's mistake.
pub(super) fn stored_id(text: &str) -> Result<ArticleId, Error> {
    ArticleId::parse(text, "id")
        .map_err(|_| Error::Internal(format!("stored article id {text:?} is not a UUID")))
}

/// A key read back from the database; a bad one is a broken invariant.
pub(super) fn stored_key(text: &str) -> Result<ArticleKey, Error> {
    ArticleKey::parse(text, "key")
        .map_err(|error| Error::Internal(format!("stored key {text:?} is invalid: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_kinds_survive_their_column() {
        for kind in [
            ChangeKind::Created,
            ChangeKind::Updated,
            ChangeKind::Deleted,
        ] {
            let read = ChangeKind::from_column_name(kind.column_name(), "change_log.kind");
            assert_eq!(read.expect("a change kind"), kind);
        }
        let error = ChangeKind::from_column_name("renamed", "change_log.kind")
            .expect_err("not a change kind");
        assert!(error.to_string().contains("change_log.kind"), "{error}");
    }

    #[test]
    fn nanos_below_micros_are_what_microseconds_drop() {
        let time = DateTime::from_timestamp(1_700_000_000, 123_456_789).expect("a time");
        assert_eq!(nanos_below_micros(time), 789);
        assert_eq!(nanos_below_micros(now()), 0);
    }
}
