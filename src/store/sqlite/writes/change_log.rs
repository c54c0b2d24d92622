//! The change log: one entry appended by every committed write (its row id
//! is the write's revision), and compaction below a mark that only rises.

use rusqlite::{Connection, params};

use super::article_version::ArticleVersion;
use super::in_transaction;
use crate::article::Revision;
use crate::error::Error;
use crate::store::columns::now;
use crate::store::sqlite::reads::{compacted_through, current_revision};
use crate::store::sqlite::rows::{SqliteContext, micros};
use crate::store::{ChangeKind, Retention};

/// Appends the change-log entry of a create or update and returns its
/// revision, which becomes the article's. `updating` is the row an update
/// is about to overwrite: its front matter is kept as the entry's
/// `previous_front_matter`.
pub(super) fn log_change(
    connection: &Connection,
    kind: ChangeKind,
    version: &ArticleVersion<'_>,
    updating: Option<i64>,
) -> Result<Revision, Error> {
    connection
        .prepare_cached(
            "INSERT INTO change_log (kind, commit_time, article_id, key, front_matter, body, \
             create_time, update_time, etag, previous_front_matter) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, \
             (SELECT front_matter FROM articles WHERE seq = ?10))",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                kind.column_name(),
                micros(version.update_time),
                version.id_text,
                version.key.as_str(),
                version.serialized.front_matter,
                version.content.body,
                micros(version.create_time),
                micros(version.update_time),
                version.serialized.etag.0,
                updating,
            ])
        })
        .context("appending to the change log")?;
    // The revision is the row id (see `write_new`).
    Ok(Revision(connection.last_insert_rowid()))
}

/// Appends the change-log entry of deleting the article at `seq` (the
/// article as it was) and returns its revision.
pub(super) fn log_delete(connection: &Connection, seq: i64) -> Result<Revision, Error> {
    connection
        .prepare_cached(
            "INSERT INTO change_log (kind, commit_time, article_id, key, front_matter, \
             body, create_time, update_time, etag, article_revision) \
             SELECT ?1, ?2, id, key, front_matter, body, create_time, update_time, etag, \
             revision FROM articles WHERE seq = ?3 RETURNING revision",
        )
        .and_then(|mut statement| {
            statement.query_row(
                params![ChangeKind::Deleted.column_name(), micros(now()), seq],
                |row| row.get(0),
            )
        })
        .map(Revision)
        .context("logging a delete")
}

/// The newest change-log entry committed before `?1`, read from
/// `change_log_by_commit_time` (schema version 3). Named, because left to
/// itself SQLite walks the whole log backwards from the newest revision
/// looking for an expired one, which usually does not exist.
pub(in crate::store::sqlite) const NEWEST_EXPIRED_REVISION: &str = "SELECT MAX(revision) FROM change_log \
     INDEXED BY change_log_by_commit_time WHERE commit_time < ?1";

/// Removes the change-log entries `retention` no longer keeps, moves the
/// compaction mark up to the last one removed, and returns the mark.
pub(in crate::store::sqlite) fn compact_change_log(
    connection: &mut Connection,
    retention: Retention,
) -> Result<Revision, Error> {
    in_transaction(connection, |transaction| {
        let current = current_revision(transaction)?;
        let mut through = compacted_through(transaction)?.0;
        if let Some(max_entries) = retention.max_entries {
            let max_entries = i64::try_from(max_entries).unwrap_or(i64::MAX);
            through = through.max(current.0.saturating_sub(max_entries));
        }
        if let Some(max_age) = retention.max_age {
            let cutoff = chrono::Duration::from_std(max_age)
                .ok()
                .and_then(|age| now().checked_sub_signed(age));
            if let Some(cutoff) = cutoff {
                let older: Option<i64> = transaction
                    .prepare_cached(NEWEST_EXPIRED_REVISION)
                    .and_then(|mut statement| {
                        statement.query_row([micros(cutoff)], |row| row.get(0))
                    })
                    .context("finding expired change-log entries")?;
                through = through.max(older.unwrap_or(0));
            }
        }
        transaction
            .prepare_cached("DELETE FROM change_log WHERE revision <= ?1")
            .and_then(|mut statement| statement.execute([through]))
            .context("compacting the change log")?;
        transaction
            .prepare_cached("UPDATE change_log_compaction SET compacted_through = ?1")
            .and_then(|mut statement| statement.execute([through]))
            .context("moving the compaction mark")?;
        Ok(Revision(through))
    })
}
