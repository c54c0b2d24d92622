//! Conversions between SQLite rows and domain values, and the mapping of
//! SQLite errors to domain errors.

use chrono::{DateTime, Utc};
use rusqlite::types::Type;
use rusqlite::{ErrorCode, Row};

use crate::article::{Article, ArticleContent, Etag, Revision};
use crate::error::Error;
use crate::store::columns::{stored_id, stored_key};
use crate::store::{Change, ChangeKind};

/// The columns `ArticleRow::read` expects, in order, from `articles a`.
pub(super) const ARTICLE_COLUMNS: &str =
    "a.id, a.key, a.front_matter, a.body, a.create_time, a.update_time, a.revision, a.etag";

/// An `articles` row as SQLite gives it, before the domain checks it.
pub(super) struct ArticleRow {
    id: String,
    key: String,
    /// Parsed straight from SQLite's copy of the JSON (a list or a stream
    /// reads many rows: no intermediate `String`); a bad row fails in
    /// `into_article`.
    content: Result<ArticleContent, Error>,
    create_time: i64,
    update_time: i64,
    revision: i64,
    etag: String,
}

impl ArticleRow {
    /// Reads the `ARTICLE_COLUMNS` of a row.
    pub(super) fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            key: row.get(1)?,
            content: stored_content(row, 2, row.get(3)?)?,
            create_time: row.get(4)?,
            update_time: row.get(5)?,
            revision: row.get(6)?,
            etag: row.get(7)?,
        })
    }

    /// The article this row stores.
    pub(super) fn into_article(self) -> Result<Article, Error> {
        Ok(Article {
            id: stored_id(&self.id)?,
            key: stored_key(&self.key)?,
            content: self.content?,
            create_time: time_from_micros(self.create_time)?,
            update_time: time_from_micros(self.update_time)?,
            revision: Revision(self.revision),
            etag: Etag(self.etag),
        })
    }
}

/// The columns `ChangeRow::read` expects, in order, from `change_log`.
pub(super) const CHANGE_COLUMNS: &str = "revision, kind, commit_time, article_id, key, \
     front_matter, body, create_time, update_time, etag, \
     COALESCE(article_revision, revision), previous_front_matter";

/// A `change_log` row as SQLite gives it.
pub(super) struct ChangeRow {
    revision: i64,
    kind: String,
    commit_time: i64,
    article: ArticleRow,
    previous_front_matter: Option<String>,
}

impl ChangeRow {
    /// Reads the `CHANGE_COLUMNS` of a row.
    pub(super) fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            revision: row.get(0)?,
            kind: row.get(1)?,
            commit_time: row.get(2)?,
            article: ArticleRow {
                id: row.get(3)?,
                key: row.get(4)?,
                content: stored_content(row, 5, row.get(6)?)?,
                create_time: row.get(7)?,
                update_time: row.get(8)?,
                revision: row.get(10)?,
                etag: row.get(9)?,
            },
            previous_front_matter: row.get(11)?,
        })
    }

    /// The change this row records.
    pub(super) fn into_change(self) -> Result<Change, Error> {
        let article = self.article.into_article()?;
        let before = self
            .previous_front_matter
            .map(|front_matter| ArticleContent::from_stored(&front_matter, String::new()))
            .transpose()?;
        Ok(Change {
            before,
            revision: Revision(self.revision),
            kind: ChangeKind::from_column_name(&self.kind, "change_log.kind")?,
            commit_time: time_from_micros(self.commit_time)?,
            id: article.id,
            key: article.key.clone(),
            article,
        })
    }
}

/// The content whose front-matter JSON is in column `index`, with `body`;
/// read from SQLite's buffer without copying the text first.
fn stored_content(
    row: &Row<'_>,
    index: usize,
    body: String,
) -> rusqlite::Result<Result<ArticleContent, Error>> {
    let front_matter = row.get_ref(index)?.as_str().map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(error))
    })?;
    Ok(ArticleContent::from_stored(front_matter, body))
}

/// A time as stored: microseconds since the Unix epoch.
pub(super) fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

pub(super) fn time_from_micros(value: i64) -> Result<DateTime<Utc>, Error> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| Error::Internal(format!("stored time {value} is out of range")))
}

/// Maps an SQLite failure while `doing` something to a domain error: a busy
/// or locked database and I/O trouble may pass, everything else is a bug or
/// a broken invariant.
pub(super) fn sqlite_error(doing: &str, error: rusqlite::Error) -> Error {
    let message = format!("sqlite, {doing}: {error}");
    match error.sqlite_error_code() {
        Some(
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull
            | ErrorCode::CannotOpen
            | ErrorCode::FileLockingProtocolFailed
            | ErrorCode::ReadOnly
            | ErrorCode::OutOfMemory,
        ) => Error::Unavailable(message),
        _ => Error::Internal(message),
    }
}

/// Whether `error` is the unique constraint on `articles.key`.
pub(super) fn is_key_conflict(error: &rusqlite::Error) -> bool {
    match error {
        rusqlite::Error::SqliteFailure(failure, Some(message)) => {
            failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                && message.contains("articles.key")
        }
        _ => false,
    }
}

/// Adds what was being done to SQLite errors.
pub(super) trait SqliteContext<T> {
    /// Maps the error with `sqlite_error`.
    fn context(self, doing: &str) -> Result<T, Error>;
}

impl<T> SqliteContext<T> for rusqlite::Result<T> {
    fn context(self, doing: &str) -> Result<T, Error> {
        self.map_err(|error| sqlite_error(doing, error))
    }
}
