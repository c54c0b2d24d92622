//! Writes, each one READ COMMITTED transaction on a pooled connection.
//!
//! - `single`: create, update and delete, one article each.
//! - `batch`: an import batch, and how an item PostgreSQL refuses is kept
//!   apart; `together` writes a batch in a few statements, `one_by_one`
//!   item after item.
//! - `state`: finding and locking the stored articles a write targets.
//! - `article_version`: an article as one write stores it, and the columns
//!   it fills; `article_row` writes one version in one statement,
//!   `version_rows` many versions in one statement.
//! - `change_log`: revisions in commit order, and compaction.
//!
//! # Revisions in commit order
//!
//! The change log promises that revisions increase in commit order: a
//! reader that has seen revision N never later finds a new entry below N.
//! A sequence cannot promise that (its values are handed out before
//! commit, and transactions commit in any order), so revisions come from
//! the one row of `revision_counter`, incremented by the transaction's
//! last statement before `COMMIT` (`change_log::PendingChanges::assign_revisions`):
//!
//! 1. The write does its work first: it locks and writes its articles and
//!    inserts one `changes` row per change (keyed by an identity that says
//!    nothing about order). Concurrent writers overlap freely here.
//! 2. Its last statement increments the counter by the number of changes,
//!    inserts the `change_log` rows (revision → change) and sets the
//!    revision on the articles it wrote, unless one already holds it (an
//!    import batch writes its articles with guessed revisions, so that a
//!    right guess spares the row a second version). The `UPDATE` of the counter row
//!    takes that row's lock, which PostgreSQL holds until the transaction
//!    ends.
//! 3. `COMMIT`. The lock is released only after the commit is durable and
//!    visible, so the next writer's counter `UPDATE`, which waited for the
//!    lock, then reads (READ COMMITTED re-reads a row it waited for) the
//!    value this one committed, and its revisions are higher and become
//!    visible later. Revisions are therefore gapless and in commit order,
//!    across connections and replicas alike; a write that rolls back rolls
//!    its increment back too.
//!
//! Only step 2 and the commit are serialised, and step 2 writes narrow rows
//! (the article data went into `changes` in step 1, copied on the server
//! from the row just written). Lock order is always articles first, the
//! counter last, so the counter adds no deadlock.
//!
//! # Failures
//!
//! A serialization failure or deadlock rolls the attempt back and runs the
//! whole transaction again, a few times, then reports `Unavailable`. An
//! error from `COMMIT` itself that does not prove a rollback (a lost
//! connection above all) is `OutcomeUnknown` and never retried.
//!
//! # Import batches
//!
//! An import batch is written together: one statement looks up and locks
//! the articles of all its keys, then one statement inserts the new
//! articles and another rewrites the changed ones, pipelined, each with
//! their topics, URLs and `changes` rows (a key repeated in the batch is
//! written again in a further round, so its changes stay in item order).
//! A few round trips per batch instead of two per item.
//!
//! An item that PostgreSQL refuses (a NUL character, a value over an
//! index's size limit) aborts the transaction, and a statement that wrote
//! many items does not say which one it was; the batch then runs again
//! item by item to find it, and once more together without it, the item
//! reported in its slot. This keeps each item alone without a savepoint
//! per item: savepoints that write are subtransactions, and more than 64 in
//! one transaction overflow PostgreSQL's per-backend cache and slow every
//! other session's snapshots.

mod article_row;
mod article_version;
mod attempt;
mod batch;
mod change_log;
mod one_by_one;
mod single;
mod state;
mod together;
mod version_rows;

use std::time::Duration;

use chrono::Utc;
use deadpool_postgres::{Object, Pool, Transaction};
use tokio_postgres::IsolationLevel;

use super::errors::{Failure, PostgresContext, commit_failure, pool_failure};

pub(super) use batch::upsert_batch;
pub(super) use change_log::compact_change_log;
pub(super) use single::{create, delete, update};

/// Attempts of one transaction that serialization failures or deadlocks
/// roll back, before `Unavailable`.
const MAX_ATTEMPTS: u32 = 4;

/// Runs `attempt` (one transaction, begun and committed by it) until it
/// succeeds or fails for good: a serialization failure or deadlock runs it
/// again, after a short pause, up to `MAX_ATTEMPTS` times.
async fn retrying<T, Attempt>(mut attempt: impl FnMut() -> Attempt) -> Result<T, Failure>
where
    Attempt: Future<Output = Result<T, Failure>>,
{
    let mut number = 1;
    loop {
        match attempt().await {
            Err(failure) if failure.is_retryable() && number < MAX_ATTEMPTS => {
                tracing::debug!(attempt = number, ?failure, "retrying a transaction");
                tokio::time::sleep(backoff(number)).await;
                number += 1;
            }
            result => return result,
        }
    }
}

/// Starts a READ COMMITTED transaction on a pooled connection. The
/// revision mechanism relies on READ COMMITTED, so it is set explicitly
/// whatever the server's default.
async fn begin(client: &mut Object) -> Result<Transaction<'_>, Failure> {
    client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
        .await
        .context("starting a transaction")
}

/// Commits; see `commit_failure` for what a failure means.
async fn commit(transaction: Transaction<'_>) -> Result<(), Failure> {
    transaction
        .commit()
        .await
        .map_err(|error| commit_failure("a write", error))
}

async fn checkout(pool: &Pool) -> Result<Object, Failure> {
    pool.get().await.map_err(pool_failure)
}

/// A short, growing pause with jitter, so retried writers spread out.
fn backoff(attempt: u32) -> Duration {
    let jitter = u64::from(Utc::now().timestamp_subsec_nanos() % 5_000_000);
    Duration::from_millis(5 * u64::from(attempt)) + Duration::from_nanos(jitter)
}
