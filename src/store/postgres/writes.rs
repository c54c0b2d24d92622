//! Writes, each one READ COMMITTED transaction on a pooled connection.
//!
//! # Revisions in commit order
//!
//! The change log promises that revisions increase in commit order: a
//! reader that has seen revision N never later finds a new entry below N.
//! A sequence cannot promise that (its values are handed out before
//! commit, and transactions commit in any order), so revisions come from
//! the one row of `revision_counter`, incremented by the transaction's
//! last statement before `COMMIT` (`PendingChanges::assign_revisions`):
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

mod batch;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Object, Pool, Transaction};
use tokio_postgres::IsolationLevel;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::errors::{Failure, PostgresContext, commit_failure, pool_failure};
use super::rows::{ExtractedColumns, change_kind_column, now, stored_id, stored_key, uuid_of};
use crate::article::{
    Article, ArticleContent, ArticleId, ArticleKey, ArticlePatch, Etag, Lookup, Revision,
};
use crate::error::Error;
use crate::store::{ChangeKind, Deleted, Retention, UpsertItem, UpsertOutcome};

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

/// Removes the change-log entries `retention` no longer keeps, moves the
/// compaction mark up to the last one removed, and returns the mark. The
/// mark's row lock makes replicas compacting together take turns.
pub(super) async fn compact_change_log(
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

/// Stores a new article; `AlreadyExists` if the key is taken.
pub(super) async fn create(
    pool: &Pool,
    key: &ArticleKey,
    content: &ArticleContent,
) -> Result<Article, Failure> {
    content.validate()?;
    retrying(|| create_once(pool, key, content)).await
}

async fn create_once(
    pool: &Pool,
    key: &ArticleKey,
    content: &ArticleContent,
) -> Result<Article, Failure> {
    let mut client = checkout(pool).await?;
    let transaction = begin(&mut client).await?;
    let time = now();
    let version = ArticleVersion::new(
        ArticleId::generate(),
        key.clone(),
        content.clone(),
        time,
        time,
    )?;
    let change_id = insert_article(&transaction, &version)
        .await?
        .ok_or_else(|| Error::AlreadyExists(key.as_str().to_string()))?;
    let mut pending = PendingChanges::default();
    let position = pending.push(change_id, version.uuid, true);
    let revisions = pending.assign_revisions(&transaction).await?;
    commit(transaction).await?;
    Ok(version.into_article(revisions.of(position)))
}

/// Applies a patch to the article named by `target`.
pub(super) async fn update(
    pool: &Pool,
    target: &Lookup,
    patch: &ArticlePatch,
    expected: Option<&Etag>,
) -> Result<Article, Failure> {
    retrying(|| update_once(pool, target, patch, expected)).await
}

async fn update_once(
    pool: &Pool,
    target: &Lookup,
    patch: &ArticlePatch,
    expected: Option<&Etag>,
) -> Result<Article, Failure> {
    let mut client = checkout(pool).await?;
    let transaction = begin(&mut client).await?;
    let (state, content) = find_with_content(&transaction, target).await?;
    check_precondition(&state, expected)?;
    let (key, content) = patch.apply(&state.key, &content)?;
    let version = ArticleVersion::new(state.id, key, content, state.create_time, now())?;
    if version.etag == state.etag {
        // Nothing to write; the transaction rolls back as it is dropped.
        return Ok(state.into_article(version.content));
    }
    let change_id = update_article(&transaction, &version).await?;
    let mut pending = PendingChanges::default();
    let position = pending.push(change_id, version.uuid, true);
    let revisions = pending.assign_revisions(&transaction).await?;
    commit(transaction).await?;
    Ok(version.into_article(revisions.of(position)))
}

/// Deletes the article named by `target`.
pub(super) async fn delete(
    pool: &Pool,
    target: &Lookup,
    expected: Option<&Etag>,
) -> Result<Deleted, Failure> {
    retrying(|| delete_once(pool, target, expected)).await
}

async fn delete_once(
    pool: &Pool,
    target: &Lookup,
    expected: Option<&Etag>,
) -> Result<Deleted, Failure> {
    let mut client = checkout(pool).await?;
    let transaction = begin(&mut client).await?;
    let state = find_state(&transaction, target).await?;
    check_precondition(&state, expected)?;
    let doing = "deleting an article";
    let statement = transaction
        .prepare_cached(
            "WITH removed AS ( \
                 DELETE FROM articles WHERE id = $1 \
                 RETURNING id, key, front_matter, body, create_time, update_time, etag, revision \
             ) \
             INSERT INTO changes (kind, commit_time, article_id, key, front_matter, body, \
                 create_time, update_time, etag, article_revision) \
             SELECT $2, $3, id, key, front_matter, body, create_time, update_time, etag, \
                 revision FROM removed \
             RETURNING change_id",
        )
        .await
        .context(doing)?;
    let row = transaction
        .query_one(
            &statement,
            &[
                &state.uuid,
                &change_kind_column(ChangeKind::Deleted),
                &now(),
            ],
        )
        .await
        .context(doing)?;
    let mut pending = PendingChanges::default();
    let position = pending.push(row.try_get(0).context(doing)?, state.uuid, false);
    let revisions = pending.assign_revisions(&transaction).await?;
    commit(transaction).await?;
    Ok(Deleted {
        id: state.id,
        key: state.key,
        revision: revisions.of(position),
    })
}

/// Creates or replaces each item by key, in order, in one transaction.
///
/// The batch is first written together (`batch::upsert_together`: a handful of
/// statements for the whole batch). If PostgreSQL refuses one of those
/// statements, which item it choked on is unknown, so the batch runs again
/// item by item (`upsert_one_by_one`) to find it; that item is reported in
/// its slot, and the rest are written together again without it (see the
/// module documentation).
pub(super) async fn upsert_batch(
    pool: &Pool,
    items: &[UpsertItem],
) -> Result<Vec<Result<UpsertOutcome, Error>>, Failure> {
    let time = now();
    let mut refused: HashMap<usize, Error> = HashMap::new();
    let mut together = true;
    loop {
        let attempt = if together {
            retrying(|| batch::upsert_together(pool, items, &refused, time)).await?
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
enum Attempt {
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
fn refusal(failure: Failure) -> Result<Error, Failure> {
    match failure.into_error() {
        error @ (Error::Unavailable(_) | Error::OutcomeUnknown(_)) => Err(Failure::Domain(error)),
        error => Ok(error),
    }
}

/// One transaction over the batch, item after item, skipping the items in
/// `refused`: the way to find which item PostgreSQL refuses.
async fn upsert_one_by_one(
    pool: &Pool,
    items: &[UpsertItem],
    refused: &HashMap<usize, Error>,
    time: DateTime<Utc>,
) -> Result<Attempt, Failure> {
    let mut client = checkout(pool).await?;
    let transaction = begin(&mut client).await?;
    let mut pending = PendingChanges::default();
    let mut drafts: Vec<Draft> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        if refused.contains_key(&index) {
            drafts.push(Draft::Refused);
            continue;
        }
        match upsert_one(&transaction, item, time, &mut pending).await {
            Ok(draft) => drafts.push(draft),
            // Domain failures happen before the item writes anything.
            Err(Failure::Domain(error)) => drafts.push(Draft::Failed(error)),
            Err(failure) if failure.is_retryable() => return Err(failure),
            // Dropping the transaction rolls it back.
            Err(failure) => return refusal(failure).map(|error| Attempt::Refused(index, error)),
        }
    }
    finish(transaction, drafts, pending).await
}

/// Assigns the revisions of the batch's changes (the last statement),
/// commits, and gives each item's outcome.
async fn finish(
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
enum Draft {
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
const MAX_KEY_RACES: usize = 3;

async fn upsert_one(
    transaction: &Transaction<'_>,
    item: &UpsertItem,
    time: DateTime<Utc>,
    pending: &mut PendingChanges,
) -> Result<Draft, Failure> {
    item.content.validate()?;
    for _ in 0..MAX_KEY_RACES {
        let Some(state) = find_state_by_key(transaction, &item.key).await? else {
            let version = ArticleVersion::new(
                ArticleId::generate(),
                item.key.clone(),
                item.content.clone(),
                time,
                time,
            )?;
            match insert_article(transaction, &version).await? {
                Some(change_id) => {
                    let position = pending.push(change_id, version.uuid, true);
                    return Ok(Draft::Created(version, position));
                }
                // Created meanwhile by a transaction that has committed:
                // the next look finds it.
                None => continue,
            }
        };
        let version = ArticleVersion::new(
            state.id,
            item.key.clone(),
            item.content.clone(),
            state.create_time,
            time,
        )?;
        if version.etag == state.etag {
            // Equal etags mean equal content.
            return Ok(Draft::Unchanged(Box::new(
                state.into_article(version.content),
            )));
        }
        let change_id = update_article(transaction, &version).await?;
        let position = pending.push(change_id, version.uuid, true);
        return Ok(Draft::Updated(version, position));
    }
    Err(Failure::Domain(Error::Unavailable(format!(
        "the key {:?} was created and deleted concurrently again and again",
        item.key.as_str()
    ))))
}

fn not_found(target: &Lookup) -> Error {
    Error::NotFound(vec![format!("article {target}")])
}

fn check_precondition(state: &StoredState, expected: Option<&Etag>) -> Result<(), Error> {
    match expected {
        Some(expected) if *expected != state.etag => Err(Error::EtagMismatch {
            expected: expected.0.clone(),
            actual: state.etag.0.clone(),
        }),
        _ => Ok(()),
    }
}

/// What the server keeps about a stored article, without its content.
#[derive(Clone)]
struct StoredState {
    uuid: Uuid,
    id: ArticleId,
    key: ArticleKey,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    revision: Revision,
    etag: Etag,
}

impl StoredState {
    /// Reads `STATE_COLUMNS`.
    fn read(row: &tokio_postgres::Row) -> Result<Self, Failure> {
        let doing = "reading an article to write";
        let uuid: Uuid = row.try_get(0).context(doing)?;
        let key: &str = row.try_get(1).context(doing)?;
        Ok(Self {
            uuid,
            id: stored_id(uuid)?,
            key: stored_key(key)?,
            create_time: row.try_get(2).context(doing)?,
            update_time: row.try_get(3).context(doing)?,
            revision: Revision(row.try_get(4).context(doing)?),
            etag: Etag(row.try_get(5).context(doing)?),
        })
    }

    /// The stored article, given its content.
    fn into_article(self, content: ArticleContent) -> Article {
        Article {
            id: self.id,
            key: self.key,
            content,
            create_time: self.create_time,
            update_time: self.update_time,
            revision: self.revision,
            etag: self.etag,
        }
    }
}

const STATE_COLUMNS: &str = "id, key, create_time, update_time, revision, etag";

/// The article a write targets, locked until the transaction ends: by id
/// or key only, since a URL may name several.
async fn find_state(
    transaction: &Transaction<'_>,
    target: &Lookup,
) -> Result<StoredState, Failure> {
    let row = match target {
        Lookup::Id(id) => find_row(transaction, "id", &uuid_of(*id)?, false).await?,
        Lookup::Key(key) => find_row(transaction, "key", &key.as_str(), false).await?,
        Lookup::Url(_) => return Err(url_target()),
    };
    let row = row.ok_or_else(|| not_found(target))?;
    StoredState::read(&row)
}

/// Like `find_state`, with the article's content.
async fn find_with_content(
    transaction: &Transaction<'_>,
    target: &Lookup,
) -> Result<(StoredState, ArticleContent), Failure> {
    let row = match target {
        Lookup::Id(id) => find_row(transaction, "id", &uuid_of(*id)?, true).await?,
        Lookup::Key(key) => find_row(transaction, "key", &key.as_str(), true).await?,
        Lookup::Url(_) => return Err(url_target()),
    };
    let row = row.ok_or_else(|| not_found(target))?;
    let doing = "reading an article to update";
    let front_matter: &str = row.try_get(6).context(doing)?;
    let body: String = row.try_get(7).context(doing)?;
    Ok((
        StoredState::read(&row)?,
        ArticleContent::from_stored(front_matter, body)?,
    ))
}

async fn find_state_by_key(
    transaction: &Transaction<'_>,
    key: &ArticleKey,
) -> Result<Option<StoredState>, Failure> {
    find_row(transaction, "key", &key.as_str(), false)
        .await?
        .map(|row| StoredState::read(&row))
        .transpose()
}

fn url_target() -> Failure {
    Failure::Domain(Error::invalid(
        "target",
        "updates and deletes name an article by id or key, not by URL",
    ))
}

/// `column` is one of our own column names, never caller input.
async fn find_row(
    transaction: &Transaction<'_>,
    column: &'static str,
    value: &(dyn ToSql + Sync),
    with_content: bool,
) -> Result<Option<tokio_postgres::Row>, Failure> {
    let doing = "finding an article to write";
    let content_columns = if with_content {
        ", front_matter, body"
    } else {
        ""
    };
    let statement = transaction
        .prepare_cached(&format!(
            "SELECT {STATE_COLUMNS}{content_columns} FROM articles WHERE {column} = $1 FOR UPDATE"
        ))
        .await
        .context(doing)?;
    transaction
        .query_opt(&statement, &[value])
        .await
        .context(doing)
}

/// An article as one write stores it, with its serialized forms computed
/// once.
struct ArticleVersion {
    id: ArticleId,
    uuid: Uuid,
    key: ArticleKey,
    content: ArticleContent,
    front_matter: String,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    etag: Etag,
}

impl ArticleVersion {
    fn new(
        id: ArticleId,
        key: ArticleKey,
        content: ArticleContent,
        create_time: DateTime<Utc>,
        update_time: DateTime<Utc>,
    ) -> Result<Self, Failure> {
        let etag = content.etag(&key);
        let front_matter = content.front_matter_json();
        Ok(Self {
            id,
            uuid: uuid_of(id)?,
            key,
            content,
            front_matter,
            create_time,
            update_time,
            etag,
        })
    }

    fn into_article(self, revision: Revision) -> Article {
        Article {
            id: self.id,
            key: self.key,
            content: self.content,
            create_time: self.create_time,
            update_time: self.update_time,
            revision,
            etag: self.etag,
        }
    }
}

/// Inserts an article with its topics, URLs and `changes` row, in one
/// statement; `None` if the key is taken (by a committed article: a
/// concurrent insert of the key is waited for). The revision is a
/// placeholder until `assign_revisions`.
async fn insert_article(
    transaction: &Transaction<'_>,
    version: &ArticleVersion,
) -> Result<Option<i64>, Failure> {
    let doing = "inserting an article";
    let statement = transaction
        .prepare_cached(
            "WITH written AS ( \
                 INSERT INTO articles (id, key, front_matter, body, search_words, published_at, \
                     published_nanos, sort_heat, sort_quality, published, category, kind, \
                     provider_domain, create_time, update_time, revision, etag) \
                 VALUES ($1, $2, $3, $4, array_to_tsvector($5::text[]), $6, $7, $8, $9, $10, \
                     $11, $12, $13, $14, $14, 0, $15) \
                 ON CONFLICT ON CONSTRAINT articles_key_unique DO NOTHING \
                 RETURNING id, key, front_matter, body, create_time, update_time, etag \
             ), topics AS ( \
                 INSERT INTO article_topics (article_id, topic) \
                 SELECT written.id, topic FROM written, unnest($16::text[]) AS topic \
             ), urls AS ( \
                 INSERT INTO article_urls (article_id, url) \
                 SELECT written.id, url FROM written, unnest($17::text[]) AS url \
             ) \
             INSERT INTO changes (kind, commit_time, article_id, key, front_matter, body, \
                 create_time, update_time, etag) \
             SELECT $18, update_time, id, key, front_matter, body, create_time, update_time, \
                 etag FROM written \
             RETURNING change_id",
        )
        .await
        .context(doing)?;
    let columns = ExtractedColumns::of(&version.content);
    let kind = change_kind_column(ChangeKind::Created);
    let row = transaction
        .query_opt(
            &statement,
            &[
                &version.uuid,
                &version.key.as_str(),
                &version.front_matter,
                &version.content.body,
                &columns.search_words,
                &columns.published_at,
                &columns.published_nanos,
                &columns.sort_heat,
                &columns.sort_quality,
                &columns.published,
                &columns.category,
                &columns.kind,
                &columns.provider_domain,
                &version.create_time,
                &version.etag.0,
                &columns.topics,
                &columns.urls,
                &kind,
            ],
        )
        .await
        .context(doing)?;
    row.map(|row| row.try_get(0).context(doing)).transpose()
}

/// Rewrites an article with its topics and URLs (only those that changed)
/// and inserts its `changes` row, in one statement. `AlreadyExists` if the
/// new key is another article's.
async fn update_article(
    transaction: &Transaction<'_>,
    version: &ArticleVersion,
) -> Result<i64, Failure> {
    let doing = "updating an article";
    let statement = transaction
        .prepare_cached(
            "WITH written AS ( \
                 UPDATE articles SET key = $2, front_matter = $3, body = $4, \
                     search_words = array_to_tsvector($5::text[]), published_at = $6, \
                     published_nanos = $7, sort_heat = $8, sort_quality = $9, published = $10, \
                     category = $11, kind = $12, provider_domain = $13, update_time = $14, \
                     etag = $15 \
                 WHERE id = $1 \
                 RETURNING id, key, front_matter, body, create_time, update_time, etag \
             ), previous AS ( \
                 SELECT front_matter FROM articles WHERE id = $1 \
             ), stale_topics AS ( \
                 DELETE FROM article_topics WHERE article_id = $1 AND topic <> ALL($16::text[]) \
             ), topics AS ( \
                 INSERT INTO article_topics (article_id, topic) \
                 SELECT $1, topic FROM unnest($16::text[]) AS topic ON CONFLICT DO NOTHING \
             ), stale_urls AS ( \
                 DELETE FROM article_urls WHERE article_id = $1 AND url <> ALL($17::text[]) \
             ), urls AS ( \
                 INSERT INTO article_urls (article_id, url) \
                 SELECT $1, url FROM unnest($17::text[]) AS url ON CONFLICT DO NOTHING \
             ) \
             INSERT INTO changes (kind, commit_time, article_id, key, front_matter, body, \
                 create_time, update_time, etag, previous_front_matter) \
             SELECT $18, update_time, id, key, front_matter, body, create_time, update_time, \
                 etag, (SELECT front_matter FROM previous) FROM written \
             RETURNING change_id",
        )
        .await
        .context(doing)?;
    let columns = ExtractedColumns::of(&version.content);
    let kind = change_kind_column(ChangeKind::Updated);
    let row = transaction
        .query_one(
            &statement,
            &[
                &version.uuid,
                &version.key.as_str(),
                &version.front_matter,
                &version.content.body,
                &columns.search_words,
                &columns.published_at,
                &columns.published_nanos,
                &columns.sort_heat,
                &columns.sort_quality,
                &columns.published,
                &columns.category,
                &columns.kind,
                &columns.provider_domain,
                &version.update_time,
                &version.etag.0,
                &columns.topics,
                &columns.urls,
                &kind,
            ],
        )
        .await
        .context(doing)
        .map_err(|failure| {
            if failure.is_key_conflict() {
                Failure::Domain(Error::AlreadyExists(version.key.as_str().to_string()))
            } else {
                failure
            }
        })?;
    row.try_get(0).context(doing)
}

/// The changes a transaction has written, waiting for their revisions.
#[derive(Default)]
struct PendingChanges {
    /// `changes.change_id` of each, in the order they happened.
    change_ids: Vec<i64>,
    /// The article each changed, and whether the article takes the
    /// change's revision (not for a delete).
    articles: Vec<(Uuid, bool)>,
}

impl PendingChanges {
    /// Adds a change; returns its position, for `AssignedRevisions::of`.
    fn push(&mut self, change_id: i64, article: Uuid, article_takes_revision: bool) -> usize {
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
    async fn assign_revisions(
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
                    &super::listener::CHANNEL,
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
struct AssignedRevisions {
    before_first: i64,
}

impl AssignedRevisions {
    /// The revision of the change at `position`.
    fn of(&self, position: usize) -> Revision {
        Revision(self.before_first + position as i64 + 1)
    }
}
