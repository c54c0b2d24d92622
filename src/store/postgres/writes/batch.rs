//! An import batch: each item created or replaced by key, in order, all in
//! one transaction, each item succeeding or failing alone (see the parent
//! module's "Import batches").

use std::collections::HashMap;

use deadpool_postgres::{Pool, Transaction};

use super::article_version::ArticleVersion;
use super::change_log::{AssignedRevisions, PendingChanges};
use super::one_by_one::upsert_one_by_one;
use super::together::upsert_together;
use super::{commit, retrying};
use crate::article::Article;
use crate::error::Error;
use crate::store::columns::now;
use crate::store::postgres::errors::Failure;
use crate::store::{UpsertItem, UpsertOutcome};

/// Creates or replaces each item by key, in order, in one transaction.
///
/// The batch is first written together (`together::upsert_together`: a handful of
/// statements for the whole batch). If PostgreSQL refuses one of those
/// statements, which item it choked on is unknown, so the batch runs again
/// item by item (`upsert_one_by_one`) to find it; that item is reported in
/// its slot, and the rest are written together again without it (see the
/// module documentation).
pub(in crate::store::postgres) async fn upsert_batch(
    pool: &Pool,
    items: &[UpsertItem],
) -> Result<Vec<Result<UpsertOutcome, Error>>, Failure> {
    let time = now();
    let mut refused: HashMap<usize, Error> = HashMap::new();
    let mut together = true;
    loop {
        let attempt = if together {
            retrying(|| upsert_together(pool, items, &refused, time)).await?
        } else {
            retrying(|| upsert_one_by_one(pool, items, &refused, time)).await?
        };
        match attempt {
            Attempt::Committed(mut outcomes) => {
                for (index, error) in refused {
                    outcomes[index] = Err(error);
                }
                return Ok(outcomes);
            }
            Attempt::RefusedTogether(error) => {
                tracing::debug!(%error, "PostgreSQL refused part of an import batch; running it item by item");
                together = false;
            }
            Attempt::Refused(index, error) => {
                tracing::debug!(index, %error, "an import item was refused; running the batch without it");
                refused.insert(index, error);
                together = true;
            }
        }
    }
}

/// How one transaction over a batch ended, short of a failure of the
/// whole batch.
pub(super) enum Attempt {
    /// Committed; each item's outcome in its slot (a refused item's slot is
    /// filled by `upsert_batch`).
    Committed(Vec<Result<UpsertOutcome, Error>>),
    /// PostgreSQL refused item `index`; the transaction rolled back.
    Refused(usize, Error),
    /// PostgreSQL refused a statement that wrote several items; the
    /// transaction rolled back.
    RefusedTogether(Error),
}

/// What a failure of a write statement in an import means, unless it is
/// retried: PostgreSQL refusing what it was given (`Ok`), or a failure of
/// the whole batch (`Err`: unavailable, or the outcome unknown).
pub(super) fn refusal(failure: Failure) -> Result<Error, Failure> {
    match failure.into_error() {
        error @ (Error::Unavailable(_) | Error::OutcomeUnknown(_)) => Err(Failure::Domain(error)),
        error => Ok(error),
    }
}

/// Assigns the revisions of the batch's changes (the last statement),
/// commits, and gives each item's outcome.
pub(super) async fn finish(
    transaction: Transaction<'_>,
    drafts: Vec<Draft>,
    pending: PendingChanges,
) -> Result<Attempt, Failure> {
    let revisions = pending.assign_revisions(&transaction).await?;
    commit(transaction).await?;
    Ok(Attempt::Committed(
        drafts
            .into_iter()
            .map(|draft| draft.outcome(&revisions))
            .collect(),
    ))
}

/// What one import item did, before revisions are known.
pub(super) enum Draft {
    Created(ArticleVersion, usize),
    Updated(ArticleVersion, usize),
    Unchanged(Box<Article>),
    /// Unchanged from what an earlier item of the batch wrote, the change
    /// at this position.
    UnchangedSince(ArticleVersion, usize),
    Failed(Error),
    Refused,
}

impl Draft {
    fn outcome(self, revisions: &AssignedRevisions) -> Result<UpsertOutcome, Error> {
        match self {
            Draft::Created(version, position) => Ok(UpsertOutcome::Created(
                version.into_article(revisions.of(position)),
            )),
            Draft::Updated(version, position) => Ok(UpsertOutcome::Updated(
                version.into_article(revisions.of(position)),
            )),
            Draft::Unchanged(article) => Ok(UpsertOutcome::Unchanged(*article)),
            Draft::UnchangedSince(version, position) => Ok(UpsertOutcome::Unchanged(
                version.into_article(revisions.of(position)),
            )),
            Draft::Failed(error) => Err(error),
            // Replaced by `upsert_batch` with the reason.
            Draft::Refused => Err(Error::Internal("refused by PostgreSQL".to_string())),
        }
    }
}

/// How many times an item looks for its key again after another
/// transaction created it between the look and the insert.
pub(super) const MAX_KEY_RACES: usize = 3;
