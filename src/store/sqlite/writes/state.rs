//! Finding the stored article a write targets, by id or key.

use rusqlite::{Connection, OptionalExtension};

use crate::article::{ArticleContent, ArticleKey, Etag, Lookup, Revision};
use crate::error::Error;
use crate::store::columns::{stored_id, stored_key};
use crate::store::sqlite::rows::{SqliteContext, time_from_micros};
use crate::store::stored_state::url_target;

/// A stored article without its content, found again by its `seq`.
pub(super) type StoredState = crate::store::stored_state::StoredState<i64>;

/// The `StoredState` (`StoredStateRow::read`) of the article with an id, or
/// with a key.
const STATE_BY_ID: &str = "SELECT seq, id, key, create_time, update_time, revision, etag \
     FROM articles WHERE id = ?1";
const STATE_BY_KEY: &str = "SELECT seq, id, key, create_time, update_time, revision, etag \
     FROM articles WHERE key = ?1";

/// A `StoredState` as SQLite gives it.
struct StoredStateRow {
    seq: i64,
    id: String,
    key: String,
    create_time: i64,
    update_time: i64,
    revision: i64,
    etag: String,
}

impl StoredStateRow {
    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            seq: row.get(0)?,
            id: row.get(1)?,
            key: row.get(2)?,
            create_time: row.get(3)?,
            update_time: row.get(4)?,
            revision: row.get(5)?,
            etag: row.get(6)?,
        })
    }

    fn into_state(self) -> Result<StoredState, Error> {
        Ok(StoredState {
            row_id: self.seq,
            id: stored_id(&self.id)?,
            key: stored_key(&self.key)?,
            create_time: time_from_micros(self.create_time)?,
            update_time: time_from_micros(self.update_time)?,
            revision: Revision(self.revision),
            etag: Etag(self.etag),
        })
    }
}

/// The article a write targets: by id or key only, since a URL may name
/// several.
pub(super) fn find_state(
    connection: &Connection,
    target: &Lookup,
) -> Result<Option<StoredState>, Error> {
    match target {
        Lookup::Id(id) => find_state_with(connection, STATE_BY_ID, &id.to_string()),
        Lookup::Key(key) => find_state_by_key(connection, key),
        Lookup::Url(_) => Err(url_target()),
    }
}

pub(super) fn find_state_by_key(
    connection: &Connection,
    key: &ArticleKey,
) -> Result<Option<StoredState>, Error> {
    find_state_with(connection, STATE_BY_KEY, key.as_str())
}

/// `sql` is `STATE_BY_ID` or `STATE_BY_KEY`.
fn find_state_with(
    connection: &Connection,
    sql: &'static str,
    value: &str,
) -> Result<Option<StoredState>, Error> {
    connection
        .prepare_cached(sql)
        .and_then(|mut statement| {
            statement
                .query_row([value], StoredStateRow::read)
                .optional()
        })
        .context("finding an article to write")?
        .map(StoredStateRow::into_state)
        .transpose()
}

/// The content of the article at `seq`, which an update patches.
pub(super) fn load_content(connection: &Connection, seq: i64) -> Result<ArticleContent, Error> {
    let (front_matter, body): (String, String) = connection
        .prepare_cached("SELECT front_matter, body FROM articles WHERE seq = ?1")
        .and_then(|mut statement| statement.query_row([seq], |row| Ok((row.get(0)?, row.get(1)?))))
        .context("reading an article to update")?;
    ArticleContent::from_stored(&front_matter, body)
}
