//! Writes, each one transaction on the writer thread's connection.
//!
//! Every committed write of an article appends a `change_log` row first and
//! stores that row's revision on the article, so revisions follow commit
//! order (there is one writer) and the log has exactly one entry per write.
//!
//! - `single`: create, update and delete, one article each.
//! - `batch`: an import batch, one transaction in which each item succeeds
//!   or fails alone.
//! - `state`: finding the stored article a write targets.
//! - `article_version`: an article as one write stores it, and its rows.
//! - `lookup_index`: the topic and URL tables filters and lookups read.
//! - `encoding`: each article's stored encoding, which streams send.
//! - `change_log`: appending to the change log, and compacting it.
//! - `search_index`: the FTS5 index, written last (see there for why).

mod article_version;
mod batch;
mod change_log;
mod encoding;
mod lookup_index;
mod search_index;
mod single;
mod state;
mod write_version;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::rows::{SqliteContext, is_key_conflict, sqlite_error};
use crate::article::ArticleKey;
use crate::error::Error;

pub(super) use batch::{PreparedBatch, upsert_batch};
#[cfg(test)]
pub(super) use change_log::NEWEST_EXPIRED_REVISION;
pub(super) use change_log::compact_change_log;
pub(super) use single::{create, delete, update};

/// Runs `work` in an immediate transaction, committing if it succeeds.
fn in_transaction<T>(
    connection: &mut Connection,
    work: impl FnOnce(&Transaction<'_>) -> Result<T, Error>,
) -> Result<T, Error> {
    let transaction = begin(connection)?;
    let value = work(&transaction)?;
    transaction.commit().context("committing")?;
    Ok(value)
}

fn begin(connection: &mut Connection) -> Result<Transaction<'_>, Error> {
    connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .context("starting a write transaction")
}

/// A unique-key violation is the caller's conflict; anything else is ours.
fn key_error(error: rusqlite::Error, key: &ArticleKey, doing: &str) -> Error {
    if is_key_conflict(&error) {
        Error::AlreadyExists(key.as_str().to_string())
    } else {
        sqlite_error(doing, error)
    }
}
