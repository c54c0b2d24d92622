//! One transaction over an import batch, whichever way it writes the items
//! (`together`, `one_by_one`): what each item will have done once
//! revisions are known (`Draft`), and how the transaction ended (`Attempt`).

use deadpool_postgres::Transaction;

use super::article_version::ArticleVersion;
use super::change_log::{AssignedRevisions, PendingChanges};
use super::commit;
use crate::article::Article;
use crate::error::Error;
use crate::store::UpsertOutcome;
use crate::store::postgres::errors::Failure;

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
