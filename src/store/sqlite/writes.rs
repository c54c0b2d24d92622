//! Writes, each one transaction on the writer thread's connection.
//!
//! Every committed write of an article appends a `change_log` row first and
//! stores that row's revision on the article, so revisions follow commit
//! order (there is one writer) and the log has exactly one entry per write.
//!
//! The search index is written last, after an import's items: FTS5 flushes
//! its pending terms to disk at every savepoint, so writing it inside each
//! item's savepoint would write (and later merge) one tiny segment per item.
//!
//! An import batch is one transaction in which each item succeeds or fails
//! alone. A savepoint around each item gives that, but costs about a third
//! of the rows' own cost (`docs/performance.md`), and an item rarely fails
//! once it is in SQL: it was validated and serialized before the
//! transaction began. So a batch is written without savepoints first; if an
//! item's SQL fails, that transaction is rolled back as a whole and the
//! batch written again with a savepoint around each item, which leaves the
//! failed ones out. Nothing of the first attempt survives its rollback, so
//! the outcome is the one the savepoints alone would give.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::rows::{
    SqliteContext, change_kind_column, is_key_conflict, micros, nanos_below_micros, now,
    sqlite_error, stored_id, stored_key, time_from_micros,
};
use crate::article::{
    Article, ArticleContent, ArticleId, ArticleKey, ArticlePatch, Etag, Lookup, Revision,
};
use crate::error::Error;
use crate::query::SortField;
use crate::store::{ChangeKind, Deleted, Retention, UpsertItem, UpsertOutcome};
use crate::wire::encode_article;

/// Stores a new article; `AlreadyExists` if the key is taken.
pub(super) fn create(
    connection: &mut Connection,
    key: ArticleKey,
    content: ArticleContent,
) -> Result<Article, Error> {
    let serialized = Serialized::validated(&key, &content)?;
    in_transaction(connection, |transaction| {
        let time = now();
        let version = ArticleVersion::new(
            ArticleId::generate(),
            &key,
            &content,
            &serialized,
            time,
            time,
        );
        let mut search = SearchUpdates::default();
        let revision = write_new(transaction, &version, &mut search)?;
        search.apply(transaction)?;
        Ok((version.id, time, revision))
    })
    .map(|(id, time, revision)| Article {
        id,
        key,
        content,
        create_time: time,
        update_time: time,
        revision,
        etag: serialized.etag,
    })
}

/// Applies a patch to the article named by `target`.
pub(super) fn update(
    connection: &mut Connection,
    target: &Lookup,
    patch: &ArticlePatch,
    expected: Option<&Etag>,
) -> Result<Article, Error> {
    in_transaction(connection, |transaction| {
        let state = find_state(transaction, target)?.ok_or_else(|| not_found(target))?;
        check_precondition(&state, expected)?;
        let content = load_content(transaction, state.seq)?;
        // `apply` validates what it returns.
        let (key, content) = patch.apply(&state.key, &content)?;
        let serialized = Serialized::of(&key, &content);
        if serialized.etag == state.etag {
            return Ok(state.into_article(content));
        }
        let time = now();
        let version = ArticleVersion::new(
            state.id,
            &key,
            &content,
            &serialized,
            state.create_time,
            time,
        );
        let mut search = SearchUpdates::default();
        let revision = write_existing(transaction, state.seq, &version, &mut search)?;
        search.apply(transaction)?;
        Ok(Article {
            id: state.id,
            key,
            content,
            create_time: state.create_time,
            update_time: time,
            revision,
            etag: serialized.etag,
        })
    })
}

/// Deletes the article named by `target`.
pub(super) fn delete(
    connection: &mut Connection,
    target: &Lookup,
    expected: Option<&Etag>,
) -> Result<Deleted, Error> {
    in_transaction(connection, |transaction| {
        let state = find_state(transaction, target)?.ok_or_else(|| not_found(target))?;
        check_precondition(&state, expected)?;
        let revision = transaction
            .prepare_cached(
                "INSERT INTO change_log (kind, commit_time, article_id, key, front_matter, \
                 body, create_time, update_time, etag, article_revision) \
                 SELECT ?1, ?2, id, key, front_matter, body, create_time, update_time, etag, \
                 revision FROM articles WHERE seq = ?3 RETURNING revision",
            )
            .and_then(|mut statement| {
                statement.query_row(
                    params![
                        change_kind_column(ChangeKind::Deleted),
                        micros(now()),
                        state.seq
                    ],
                    |row| row.get(0),
                )
            })
            .map(Revision)
            .context("logging a delete")?;
        unindex_article(transaction, state.seq)?;
        let mut search = SearchUpdates::default();
        search.remove(state.seq);
        search.apply(transaction)?;
        transaction
            .prepare_cached("DELETE FROM articles WHERE seq = ?1")
            .and_then(|mut statement| statement.execute([state.seq]))
            .context("deleting an article")?;
        Ok(Deleted {
            id: state.id,
            key: state.key,
            revision,
        })
    })
}

/// Creates or replaces each item by key, each succeeding or failing alone,
/// all in one transaction and so one durable commit (see the module
/// documentation for how items are kept apart).
pub(super) fn upsert_batch(
    connection: &mut Connection,
    batch: PreparedBatch,
) -> Result<Vec<Result<UpsertOutcome, Error>>, Error> {
    let items = batch.items;
    let written = match write_batch(connection, &items, Isolation::Together)? {
        Some(written) => written,
        None => write_batch(connection, &items, Isolation::SavepointPerItem)?
            .ok_or_else(|| Error::Internal("an import batch with savepoints gave up".into()))?,
    };
    let time = written.time;
    Ok(items
        .into_iter()
        .zip(written.items)
        .map(|(item, written)| written.map(|written| written.into_outcome(item, time)))
        .collect())
}

/// How the items of a batch are kept apart inside its transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isolation {
    /// No savepoints: the first item whose SQL fails rolls the whole
    /// transaction back.
    Together,
    /// A savepoint around each item: a failed item is rolled back alone.
    SavepointPerItem,
}

/// An import batch, validated and serialized: the CPU work of a write that
/// needs no connection, done before the batch reaches the writer thread.
pub(super) struct PreparedBatch {
    items: Vec<PendingItem>,
}

impl PreparedBatch {
    pub(super) fn new(items: Vec<UpsertItem>) -> Self {
        Self {
            items: items.into_iter().map(PendingItem::new).collect(),
        }
    }
}

/// An import item, validated and serialized before its transaction.
struct PendingItem {
    key: ArticleKey,
    content: ArticleContent,
    /// Its serialized forms, or why it is invalid (it then writes nothing).
    serialized: Result<Serialized, Error>,
}

impl PendingItem {
    fn new(item: UpsertItem) -> Self {
        let serialized = Serialized::validated(&item.key, &item.content);
        Self {
            key: item.key,
            content: item.content,
            serialized,
        }
    }
}

/// What a committed batch wrote, item by item.
struct WrittenBatch {
    /// The update (and creation) time of every item written.
    time: DateTime<Utc>,
    items: Vec<Result<Written, Error>>,
}

/// What writing one item did, before the item moves into its outcome.
enum Written {
    Created {
        id: ArticleId,
        revision: Revision,
        etag: Etag,
    },
    Updated {
        id: ArticleId,
        create_time: DateTime<Utc>,
        revision: Revision,
        etag: Etag,
    },
    /// The stored article equals the item.
    Unchanged(StoredState),
}

impl Written {
    fn into_outcome(self, item: PendingItem, time: DateTime<Utc>) -> UpsertOutcome {
        match self {
            Written::Created { id, revision, etag } => UpsertOutcome::Created(Article {
                id,
                key: item.key,
                content: item.content,
                create_time: time,
                update_time: time,
                revision,
                etag,
            }),
            Written::Updated {
                id,
                create_time,
                revision,
                etag,
            } => UpsertOutcome::Updated(Article {
                id,
                key: item.key,
                content: item.content,
                create_time,
                update_time: time,
                revision,
                etag,
            }),
            // Equal etags mean equal content, so the item's content is the
            // stored one and need not be read back.
            Written::Unchanged(state) => UpsertOutcome::Unchanged(state.into_article(item.content)),
        }
    }
}

/// Writes the valid items of a batch in one transaction and commits it.
/// `None` (with the transaction rolled back) if `Together` met an item
/// whose SQL failed.
fn write_batch(
    connection: &mut Connection,
    items: &[PendingItem],
    isolation: Isolation,
) -> Result<Option<WrittenBatch>, Error> {
    let mut transaction = begin(connection)?;
    let time = now();
    let mut written = Vec::with_capacity(items.len());
    let mut search = SearchUpdates::default();
    for item in items {
        let serialized = match &item.serialized {
            Ok(serialized) => serialized,
            Err(invalid) => {
                written.push(Err(invalid.clone()));
                continue;
            }
        };
        let outcome = match isolation {
            Isolation::Together => {
                match upsert_one(&transaction, item, serialized, time, &mut search) {
                    Ok(outcome) => Ok(outcome),
                    Err(_) => {
                        // `finish` rolls back, and copes with SQLite having
                        // rolled back already (as it does on a full disk).
                        transaction
                            .finish()
                            .context("rolling back an import batch")?;
                        return Ok(None);
                    }
                }
            }
            Isolation::SavepointPerItem => {
                let savepoint = transaction.savepoint().context("starting an import item")?;
                let mut item_search = SearchUpdates::default();
                let outcome = upsert_one(&savepoint, item, serialized, time, &mut item_search);
                if outcome.is_ok() {
                    savepoint.commit().context("finishing an import item")?;
                    search.append(item_search);
                } else {
                    savepoint.finish().context("rolling back an import item")?;
                }
                outcome
            }
        };
        written.push(outcome);
    }
    search.apply(&transaction)?;
    transaction.commit().context("committing an import")?;
    Ok(Some(WrittenBatch {
        time,
        items: written,
    }))
}

fn upsert_one<'a>(
    connection: &Connection,
    item: &'a PendingItem,
    serialized: &'a Serialized,
    time: DateTime<Utc>,
    search: &mut SearchUpdates<'a>,
) -> Result<Written, Error> {
    let Some(state) = find_state_by_key(connection, &item.key)? else {
        let version = ArticleVersion::new(
            ArticleId::generate(),
            &item.key,
            &item.content,
            serialized,
            time,
            time,
        );
        let revision = write_new(connection, &version, search)?;
        return Ok(Written::Created {
            id: version.id,
            revision,
            etag: serialized.etag.clone(),
        });
    };
    if serialized.etag == state.etag {
        return Ok(Written::Unchanged(state));
    }
    let version = ArticleVersion::new(
        state.id,
        &item.key,
        &item.content,
        serialized,
        state.create_time,
        time,
    );
    let revision = write_existing(connection, state.seq, &version, search)?;
    Ok(Written::Updated {
        id: state.id,
        create_time: state.create_time,
        revision,
        etag: serialized.etag.clone(),
    })
}

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
struct StoredState {
    seq: i64,
    id: ArticleId,
    key: ArticleKey,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    revision: Revision,
    etag: Etag,
}

/// The `StoredState` (`StoredState::read`) of the article with an id, or
/// with a key.
const STATE_BY_ID: &str = "SELECT seq, id, key, create_time, update_time, revision, etag \
     FROM articles WHERE id = ?1";
const STATE_BY_KEY: &str = "SELECT seq, id, key, create_time, update_time, revision, etag \
     FROM articles WHERE key = ?1";

impl StoredState {
    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredStateRow> {
        Ok(StoredStateRow {
            seq: row.get(0)?,
            id: row.get(1)?,
            key: row.get(2)?,
            create_time: row.get(3)?,
            update_time: row.get(4)?,
            revision: row.get(5)?,
            etag: row.get(6)?,
        })
    }

    /// The stored article, given its (equal) content.
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
    fn into_state(self) -> Result<StoredState, Error> {
        Ok(StoredState {
            seq: self.seq,
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
fn find_state(connection: &Connection, target: &Lookup) -> Result<Option<StoredState>, Error> {
    match target {
        Lookup::Id(id) => find_state_with(connection, STATE_BY_ID, &id.to_string()),
        Lookup::Key(key) => find_state_by_key(connection, key),
        Lookup::Url(_) => Err(Error::invalid(
            "target",
            "updates and deletes name an article by id or key, not by URL",
        )),
    }
}

fn find_state_by_key(
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
        .and_then(|mut statement| statement.query_row([value], StoredState::read).optional())
        .context("finding an article to write")?
        .map(StoredStateRow::into_state)
        .transpose()
}

fn load_content(connection: &Connection, seq: i64) -> Result<ArticleContent, Error> {
    let (front_matter, body): (String, String) = connection
        .prepare_cached("SELECT front_matter, body FROM articles WHERE seq = ?1")
        .and_then(|mut statement| statement.query_row([seq], |row| Ok((row.get(0)?, row.get(1)?))))
        .context("reading an article to update")?;
    ArticleContent::from_stored(&front_matter, body)
}

/// The serialized forms of an article's content under its key, computed
/// once per write: the front-matter JSON serves the size check, the etag,
/// the article row and its change-log entry.
struct Serialized {
    front_matter: String,
    etag: Etag,
    /// What the search index holds for it (`search_text`).
    search_text: String,
}

impl Serialized {
    /// Validates `content` (`ArticleContent::validate`) and serializes it.
    fn validated(key: &ArticleKey, content: &ArticleContent) -> Result<Self, Error> {
        let front_matter = content.front_matter_json();
        content.validate_with_front_matter_json(&front_matter)?;
        Ok(Self::with_front_matter(key, content, front_matter))
    }

    /// Serializes content that was validated already.
    fn of(key: &ArticleKey, content: &ArticleContent) -> Self {
        Self::with_front_matter(key, content, content.front_matter_json())
    }

    fn with_front_matter(key: &ArticleKey, content: &ArticleContent, front_matter: String) -> Self {
        Self {
            etag: content.etag_with_front_matter_json(key, &front_matter),
            front_matter,
            search_text: search_text(content),
        }
    }
}

/// An article as one write stores it, borrowed from the caller.
struct ArticleVersion<'a> {
    id: ArticleId,
    /// `id` as stored.
    id_text: String,
    key: &'a ArticleKey,
    content: &'a ArticleContent,
    serialized: &'a Serialized,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

impl<'a> ArticleVersion<'a> {
    fn new(
        id: ArticleId,
        key: &'a ArticleKey,
        content: &'a ArticleContent,
        serialized: &'a Serialized,
        create_time: DateTime<Utc>,
        update_time: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            id_text: id.to_string(),
            key,
            content,
            serialized,
            create_time,
            update_time,
        }
    }
}

/// Writes a new article (change log, row, indexes; the search index into
/// `search`) and returns its revision.
fn write_new<'a>(
    connection: &Connection,
    version: &ArticleVersion<'a>,
    search: &mut SearchUpdates<'a>,
) -> Result<Revision, Error> {
    let revision = log_change(connection, ChangeKind::Created, version, None)?;
    connection
        .prepare_cached(
            "INSERT INTO articles (id, key, front_matter, body, published_at, \
             published_nanos, sort_heat, sort_quality, published, category, kind, \
             provider_domain, create_time, update_time, revision, etag) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )
        .and_then(|mut statement| {
            let columns = ExtractedColumns::of(version.content);
            statement.execute(params![
                version.id_text,
                version.key.as_str(),
                version.serialized.front_matter,
                version.content.body,
                columns.published_at,
                columns.published_nanos,
                columns.sort_heat,
                columns.sort_quality,
                columns.published,
                columns.category,
                columns.kind,
                columns.provider_domain,
                micros(version.create_time),
                micros(version.update_time),
                revision.0,
                version.serialized.etag.0,
            ])
        })
        .map_err(|error| key_error(error, version.key, "inserting an article"))?;
    // `seq` is the row id (an INTEGER PRIMARY KEY). Reading it here rather
    // than with RETURNING spares SQLite a result table per insert.
    let seq = connection.last_insert_rowid();
    index_article(connection, seq, version.content)?;
    write_encoded(connection, seq, version, revision)?;
    search.insert(seq, &version.serialized.search_text);
    Ok(revision)
}

/// Rewrites the article at `seq` as `version` and returns its revision.
fn write_existing<'a>(
    connection: &Connection,
    seq: i64,
    version: &ArticleVersion<'a>,
    search: &mut SearchUpdates<'a>,
) -> Result<Revision, Error> {
    let revision = log_change(connection, ChangeKind::Updated, version, Some(seq))?;
    connection
        .prepare_cached(
            "UPDATE articles SET key = ?2, front_matter = ?3, body = ?4, published_at = ?5, \
             published_nanos = ?6, sort_heat = ?7, sort_quality = ?8, published = ?9, \
             category = ?10, kind = ?11, provider_domain = ?12, update_time = ?13, \
             revision = ?14, etag = ?15 WHERE seq = ?1",
        )
        .and_then(|mut statement| {
            let columns = ExtractedColumns::of(version.content);
            statement.execute(params![
                seq,
                version.key.as_str(),
                version.serialized.front_matter,
                version.content.body,
                columns.published_at,
                columns.published_nanos,
                columns.sort_heat,
                columns.sort_quality,
                columns.published,
                columns.category,
                columns.kind,
                columns.provider_domain,
                micros(version.update_time),
                revision.0,
                version.serialized.etag.0,
            ])
        })
        .map_err(|error| key_error(error, version.key, "updating an article"))?;
    unindex_article(connection, seq)?;
    index_article(connection, seq, version.content)?;
    write_encoded(connection, seq, version, revision)?;
    search.remove(seq);
    search.insert(seq, &version.serialized.search_text);
    Ok(revision)
}

/// Stores the article at `seq` as `version` at `revision` encodes
/// (`encoded_articles`, which streams read).
fn write_encoded(
    connection: &Connection,
    seq: i64,
    version: &ArticleVersion<'_>,
    revision: Revision,
) -> Result<(), Error> {
    let encoded = encode_article(Article {
        id: version.id,
        key: version.key.clone(),
        content: version.content.clone(),
        create_time: version.create_time,
        update_time: version.update_time,
        revision,
        etag: version.serialized.etag.clone(),
    });
    // REPLACE also removes the article's former encoding when its
    // `published_at`, part of the key, changed: it conflicts on `seq`.
    connection
        .prepare_cached(
            "INSERT OR REPLACE INTO encoded_articles (published_at, id, seq, article) \
             VALUES (?1, ?2, ?3, ?4)",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                version.content.sort_value(SortField::PublishedDateTime),
                version.id_text,
                seq,
                encoded
            ])
        })
        .context("storing the encoded article")?;
    Ok(())
}

/// A unique-key violation is the caller's conflict; anything else is ours.
fn key_error(error: rusqlite::Error, key: &ArticleKey, doing: &str) -> Error {
    if is_key_conflict(&error) {
        Error::AlreadyExists(key.as_str().to_string())
    } else {
        sqlite_error(doing, error)
    }
}

/// Appends the change-log entry of a create or update and returns its
/// revision, which becomes the article's. `updating` is the row an update
/// is about to overwrite: its front matter is kept as the entry's
/// `previous_front_matter`.
fn log_change(
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
                change_kind_column(kind),
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

/// The newest change-log entry committed before `?1`, read from
/// `change_log_by_commit_time` (schema version 3). Named, because left to
/// itself SQLite walks the whole log backwards from the newest revision
/// looking for an expired one, which usually does not exist.
pub(super) const NEWEST_EXPIRED_REVISION: &str = "SELECT MAX(revision) FROM change_log \
     INDEXED BY change_log_by_commit_time WHERE commit_time < ?1";

/// Removes the change-log entries `retention` no longer keeps, moves the
/// compaction mark up to the last one removed, and returns the mark.
pub(super) fn compact_change_log(
    connection: &mut Connection,
    retention: Retention,
) -> Result<Revision, Error> {
    in_transaction(connection, |transaction| {
        let current = super::reads::current_revision(transaction)?;
        let mut through = super::reads::compacted_through(transaction)?.0;
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

/// The `articles` columns filters and orders read, extracted from content.
struct ExtractedColumns<'a> {
    published_at: i64,
    published_nanos: i64,
    sort_heat: i64,
    sort_quality: i64,
    published: Option<bool>,
    category: Option<&'a str>,
    kind: Option<&'a str>,
    provider_domain: Option<&'a str>,
}

impl<'a> ExtractedColumns<'a> {
    fn of(content: &'a ArticleContent) -> Self {
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

/// The text the search index holds: the words `ArticleQuery::matches`
/// searches (`search_words` of the title and excerpt), separated by spaces.
fn search_text(content: &ArticleContent) -> String {
    let excerpt = content.excerpt.as_deref().unwrap_or_default();
    let mut text = String::with_capacity(content.title.len() + excerpt.len() + 1);
    // `search_words` of the two joined by a space: the words of one, then
    // of the other.
    let words = [content.title.as_str(), excerpt]
        .into_iter()
        .flat_map(|source| {
            source
                .split(|character: char| !character.is_alphanumeric())
                .filter(|word| !word.is_empty())
        });
    for word in words {
        if !text.is_empty() {
            text.push(' ');
        }
        if word.is_ascii() {
            text.extend(
                word.bytes()
                    .map(|byte| char::from(byte.to_ascii_lowercase())),
            );
        } else {
            text.push_str(&word.to_lowercase());
        }
    }
    text
}

/// Topics and URLs of an article, for filters and lookups.
fn index_article(connection: &Connection, seq: i64, content: &ArticleContent) -> Result<(), Error> {
    if !content.topics.is_empty() {
        let mut statement = connection
            .prepare_cached(
                "INSERT OR IGNORE INTO article_topics (article_seq, topic) VALUES (?1, ?2)",
            )
            .context("indexing topics")?;
        for topic in &content.topics {
            statement
                .execute(params![seq, topic])
                .context("indexing a topic")?;
        }
    }
    let urls = content.urls();
    if !urls.is_empty() {
        let mut statement = connection
            .prepare_cached("INSERT OR IGNORE INTO article_urls (article_seq, url) VALUES (?1, ?2)")
            .context("indexing URLs")?;
        for url in urls {
            statement
                .execute(params![seq, url])
                .context("indexing a URL")?;
        }
    }
    Ok(())
}

/// Removes what `index_article` wrote.
fn unindex_article(connection: &Connection, seq: i64) -> Result<(), Error> {
    for sql in [
        "DELETE FROM article_topics WHERE article_seq = ?1",
        "DELETE FROM article_urls WHERE article_seq = ?1",
    ] {
        connection
            .prepare_cached(sql)
            .and_then(|mut statement| statement.execute([seq]))
            .context("removing an article from the indexes")?;
    }
    Ok(())
}

/// Search-index changes, in order, applied together (see the module
/// documentation for why they wait).
#[derive(Default)]
struct SearchUpdates<'a> {
    /// An article's row id, and its new search text (`None`: remove it).
    changes: Vec<(i64, Option<&'a str>)>,
}

impl<'a> SearchUpdates<'a> {
    fn insert(&mut self, seq: i64, search_text: &'a str) {
        self.changes.push((seq, Some(search_text)));
    }

    fn remove(&mut self, seq: i64) {
        self.changes.push((seq, None));
    }

    fn append(&mut self, other: SearchUpdates<'a>) {
        self.changes.extend(other.changes);
    }

    fn apply(self, connection: &Connection) -> Result<(), Error> {
        if self.changes.is_empty() {
            return Ok(());
        }
        let mut insert = connection
            .prepare_cached("INSERT INTO article_search (rowid, words) VALUES (?1, ?2)")
            .context("preparing to update the search index")?;
        let mut remove = connection
            .prepare_cached("DELETE FROM article_search WHERE rowid = ?1")
            .context("preparing to update the search index")?;
        for (seq, text) in self.changes {
            match text {
                Some(text) => insert.execute(params![seq, text]),
                None => remove.execute([seq]),
            }
            .context("updating the search index")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::search_words;
    use crate::store::sqlite::schema::migrated_in_memory;

    fn content(title: &str, url: &str) -> ArticleContent {
        serde_json::from_value(serde_json::json!({
            "title": title,
            "publishedDateTime": "2024-01-01T00:00:00Z",
            "originalUrl": url,
            "topics": ["Testing"],
        }))
        .expect("test content deserializes")
    }

    fn item(key: &str, url: &str) -> UpsertItem {
        UpsertItem {
            key: ArticleKey::parse(key, "key").expect("a valid key"),
            content: content(key, url),
        }
    }

    fn count(connection: &Connection, table: &str) -> i64 {
        connection
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .expect("count")
    }

    /// An item that fails after some of its rows were written (here, at its
    /// URL, by an injected trigger) rolls back to its savepoint alone.
    #[test]
    fn a_failure_midway_through_an_item_rolls_back_only_that_item() {
        let mut connection = migrated_in_memory();
        fail_at_url(&connection, "https://fail.example/");
        let outcomes = upsert_batch(
            &mut connection,
            PreparedBatch::new(vec![
                item("first", "https://one.example/"),
                item("failing", "https://fail.example/"),
                item("last", "https://two.example/"),
            ]),
        )
        .expect("the batch commits");
        let revisions: Vec<i64> = match outcomes.as_slice() {
            [
                Ok(UpsertOutcome::Created(first)),
                Err(Error::Internal(_)),
                Ok(UpsertOutcome::Created(last)),
            ] => vec![first.revision.0, last.revision.0],
            other => panic!("unexpected outcomes {other:?}"),
        };
        assert_eq!(
            revisions,
            vec![1, 2],
            "the failed item's revision was rolled back"
        );
        assert_eq!(count(&connection, "articles"), 2);
        assert_eq!(count(&connection, "change_log"), 2);
        assert_eq!(count(&connection, "article_topics"), 2);
        assert_eq!(count(&connection, "article_urls"), 2);
        let failing_rows: i64 = connection
            .query_row(
                "SELECT COUNT(*) FROM articles WHERE key = 'failing'",
                [],
                |row| row.get(0),
            )
            .expect("count");
        assert_eq!(failing_rows, 0);
        let searchable: i64 = connection
            .query_row(
                "SELECT COUNT(*) FROM article_search WHERE article_search MATCH 'failing'",
                [],
                |row| row.get(0),
            )
            .expect("search");
        assert_eq!(searchable, 0);
    }

    fn fail_at_url(connection: &Connection, url: &str) {
        connection
            .execute_batch(&format!(
                "CREATE TEMP TRIGGER fail_at_url BEFORE INSERT ON main.article_urls \
                 WHEN NEW.url = '{url}' \
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
            ))
            .expect("the trigger");
    }

    fn pending(items: Vec<UpsertItem>) -> Vec<PendingItem> {
        PreparedBatch::new(items).items
    }

    /// Without savepoints, a failing item makes the batch give up and
    /// leaves nothing behind, so that the batch can be written again.
    #[test]
    fn a_failure_without_savepoints_rolls_back_the_whole_batch() {
        let mut connection = migrated_in_memory();
        fail_at_url(&connection, "https://fail.example/");
        let items = pending(vec![
            item("first", "https://one.example/"),
            item("failing", "https://fail.example/"),
        ]);
        let written =
            write_batch(&mut connection, &items, Isolation::Together).expect("no batch error");
        assert!(written.is_none(), "the batch gave up");
        assert!(connection.is_autocommit(), "no transaction left open");
        for table in ["articles", "change_log", "article_topics", "article_urls"] {
            assert_eq!(count(&connection, table), 0, "{table}");
        }
        let written = write_batch(&mut connection, &items, Isolation::SavepointPerItem)
            .expect("no batch error")
            .expect("savepoints never give up");
        assert!(matches!(
            written.items.as_slice(),
            [
                Ok(Written::Created {
                    revision: Revision(1),
                    ..
                }),
                Err(Error::Internal(_))
            ]
        ));
    }

    /// Items that fail validation fail before any SQL, so they leave the
    /// other items of the batch on the path without savepoints.
    #[test]
    fn invalid_items_do_not_need_savepoints() {
        let mut connection = migrated_in_memory();
        let mut invalid = item("invalid", "https://invalid.example/");
        invalid.content.title = " ".to_string();
        let items = pending(vec![
            item("first", "https://one.example/"),
            invalid,
            item("last", "https://two.example/"),
        ]);
        let written = write_batch(&mut connection, &items, Isolation::Together)
            .expect("no batch error")
            .expect("nothing failed in SQL");
        assert!(matches!(
            written.items.as_slice(),
            [
                Ok(Written::Created {
                    revision: Revision(1),
                    ..
                }),
                Err(Error::InvalidArgument(_)),
                Ok(Written::Created {
                    revision: Revision(2),
                    ..
                }),
            ]
        ));
        assert_eq!(count(&connection, "articles"), 2);
    }

    /// Created, updated and unchanged items in one batch, with one revision
    /// and one change-log entry per write, and search kept in step.
    #[test]
    fn a_batch_creates_updates_and_skips_unchanged_items() {
        let mut connection = migrated_in_memory();
        upsert_batch(
            &mut connection,
            PreparedBatch::new(vec![item("kept", "https://kept.example/")]),
        )
        .expect("the first batch");
        let mut changed = item("kept", "https://kept.example/");
        changed.content.title = "retitled".to_string();
        let outcomes = upsert_batch(
            &mut connection,
            PreparedBatch::new(vec![
                item("new", "https://new.example/"),
                changed.clone(),
                changed,
            ]),
        )
        .expect("the second batch");
        let revisions: Vec<Option<i64>> = outcomes
            .iter()
            .map(|outcome| match outcome {
                Ok(UpsertOutcome::Created(article) | UpsertOutcome::Updated(article)) => {
                    Some(article.revision.0)
                }
                Ok(UpsertOutcome::Unchanged(article)) => {
                    assert_eq!(article.revision.0, 3);
                    None
                }
                Err(error) => panic!("{error}"),
            })
            .collect();
        assert_eq!(revisions, vec![Some(2), Some(3), None]);
        assert_eq!(count(&connection, "change_log"), 3);
        let searchable: i64 = connection
            .query_row(
                "SELECT COUNT(*) FROM article_search WHERE article_search MATCH 'retitled'",
                [],
                |row| row.get(0),
            )
            .expect("search");
        assert_eq!(searchable, 1);
    }

    #[test]
    fn the_search_text_is_the_searched_words() {
        for (title, excerpt) in [
            (
                "Power Apps: 2019 wave",
                Some("ΣΟΦΟΣ says — Ünïcödé, 日本語 & AI-ML"),
            ),
            ("", None),
            ("  ", Some("")),
            ("ΌΣΟΣ", None),
        ] {
            let mut content = content(title, "https://a.example/");
            content.excerpt = excerpt.map(str::to_string);
            let haystack = format!("{title} {}", excerpt.unwrap_or_default());
            assert_eq!(search_text(&content), search_words(&haystack).join(" "));
        }
    }

    #[test]
    fn a_taken_key_on_rename_is_already_exists() {
        let mut connection = migrated_in_memory();
        create(
            &mut connection,
            item("a", "https://a.example/").key,
            content("a", "https://a.example/"),
        )
        .expect("create a");
        let b = create(
            &mut connection,
            item("b", "https://b.example/").key,
            content("b", "https://b.example/"),
        )
        .expect("create b");
        let patch = ArticlePatch {
            fields: vec![crate::article::ContentField::Key],
            key: Some(ArticleKey::parse("a", "key").expect("key")),
            source: b.content.clone(),
        };
        let error =
            update(&mut connection, &Lookup::Id(b.id), &patch, None).expect_err("the key is taken");
        assert!(
            matches!(&error, Error::AlreadyExists(key) if key == "a"),
            "{error:?}"
        );
        assert_eq!(count(&connection, "change_log"), 2);
    }
}
