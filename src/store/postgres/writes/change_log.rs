//! The change log: each write's changes take the next revisions in its
//! last statement, in commit order across connections and replicas (see
//! the parent module's "Revisions in commit order"), and compaction below
//! a mark that only rises.

use std::collections::HashMap;

use deadpool_postgres::{Pool, Transaction};
use uuid::Uuid;

use super::{begin, checkout, commit};
use crate::article::Revision;
use crate::store::Retention;
use crate::store::columns::now;
use crate::store::postgres::errors::{Failure, PostgresContext};
use crate::store::postgres::listener::CHANNEL;

/// The changes a transaction has written, waiting for their revisions.
#[derive(Default)]
pub(super) struct PendingChanges {
    /// `changes.change_id` of each, in the order they happened.
    change_ids: Vec<i64>,
    /// The article each changed, and whether the article takes the
    /// change's revision (not for a delete).
    articles: Vec<(Uuid, bool)>,
}

impl PendingChanges {
    /// Adds a change; returns its position, for `AssignedRevisions::of`.
    pub(super) fn push(
        &mut self,
        change_id: i64,
        article: Uuid,
        article_takes_revision: bool,
    ) -> usize {
        self.change_ids.push(change_id);
        self.articles.push((article, article_takes_revision));
        self.change_ids.len() - 1
    }

    /// Gives the changes the next revisions, in order, and stamps each
    /// article with its last change's revision, and notifies the replicas'
    /// listeners (PostgreSQL delivers the notification at commit, and not
    /// at all on rollback). MUST be the transaction's
    /// last statement before `COMMIT`: it takes the counter row's lock,
    /// held until the transaction ends (see the module documentation).
    pub(super) async fn assign_revisions(
        self,
        transaction: &Transaction<'_>,
    ) -> Result<AssignedRevisions, Failure> {
        if self.change_ids.is_empty() {
            return Ok(AssignedRevisions { before_first: 0 });
        }
        // An article changed twice in one batch takes the later revision.
        let mut last_position: HashMap<Uuid, i64> = HashMap::new();
        for (position, (article, takes_revision)) in self.articles.iter().enumerate() {
            if *takes_revision {
                last_position.insert(*article, position as i64 + 1);
            }
        }
        let (stamped_articles, stamped_positions): (Vec<Uuid>, Vec<i64>) =
            last_position.into_iter().unzip();
        let doing = "assigning revisions";
        let statement = transaction
            .prepare_cached(
                "WITH counter AS ( \
                     UPDATE revision_counter SET value = value + cardinality($1::bigint[]) \
                     RETURNING value - cardinality($1::bigint[]) AS before_first \
                 ), logged AS ( \
                     INSERT INTO change_log (revision, change_id) \
                     SELECT counter.before_first + entry.position, entry.change_id \
                     FROM counter, unnest($1::bigint[]) WITH ORDINALITY AS entry (change_id, position) \
                 ), stamped AS ( \
                     UPDATE articles SET revision = counter.before_first + stamp.position \
                     FROM counter, unnest($2::uuid[], $3::bigint[]) AS stamp (id, position) \
                     WHERE articles.id = stamp.id \
                         AND articles.revision <> counter.before_first + stamp.position \
                 ) \
                 SELECT before_first, pg_notify($4, '') IS NULL FROM counter",
            )
            .await
            .context(doing)?;
        let row = transaction
            .query_one(
                &statement,
                &[
                    &self.change_ids,
                    &stamped_articles,
                    &stamped_positions,
                    &CHANNEL,
                ],
            )
            .await
            .context(doing)?;
        Ok(AssignedRevisions {
            before_first: row.try_get(0).context(doing)?,
        })
    }
}

/// The revisions `assign_revisions` gave.
pub(super) struct AssignedRevisions {
    before_first: i64,
}

impl AssignedRevisions {
    /// The revision of the change at `position`.
    pub(super) fn of(&self, position: usize) -> Revision {
        Revision(self.before_first + position as i64 + 1)
    }
}

/// Removes the change-log entries `retention` no longer keeps, moves the
/// compaction mark up to the last one removed, and returns the mark. The
/// mark's row lock makes replicas compacting together take turns.
pub(in crate::store::postgres) async fn compact_change_log(
    pool: &Pool,
    retention: Retention,
) -> Result<Revision, Failure> {
    let doing = "compacting the change log";
    let mut client = checkout(pool).await?;
    let transaction = begin(&mut client).await?;
    let mark: i64 = transaction
        .query_one(
            "SELECT compacted_through FROM change_log_compaction FOR UPDATE",
            &[],
        )
        .await
        .and_then(|row| row.try_get(0))
        .context(doing)?;
    let current: i64 = transaction
        .query_one("SELECT value FROM revision_counter", &[])
        .await
        .and_then(|row| row.try_get(0))
        .context(doing)?;
    let mut through = mark;
    if let Some(max_entries) = retention.max_entries {
        let max_entries = i64::try_from(max_entries).unwrap_or(i64::MAX);
        through = through.max(current.saturating_sub(max_entries));
    }
    if let Some(cutoff) = retention
        .max_age
        .and_then(|age| chrono::Duration::from_std(age).ok())
        .and_then(|age| now().checked_sub_signed(age))
    {
        let expired: Option<i64> = transaction
            .query_one(
                "SELECT MAX(l.revision) FROM change_log l \
                 JOIN changes c ON c.change_id = l.change_id WHERE c.commit_time < $1",
                &[&cutoff],
            )
            .await
            .and_then(|row| row.try_get(0))
            .context(doing)?;
        through = through.max(expired.unwrap_or(0));
    }
    if through > mark {
        transaction
            .execute(
                "WITH removed AS ( \
                     DELETE FROM change_log WHERE revision <= $1 RETURNING change_id \
                 ) \
                 DELETE FROM changes WHERE change_id IN (SELECT change_id FROM removed)",
                &[&through],
            )
            .await
            .context(doing)?;
        transaction
            .execute(
                "UPDATE change_log_compaction SET compacted_through = $1",
                &[&through],
            )
            .await
            .context(doing)?;
    }
    commit(transaction).await?;
    Ok(Revision(through))
}
