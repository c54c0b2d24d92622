//! Writes, each one transaction on the writer thread's connection.
//!
//! Every committed write of an article appends a `change_log` row first and
//! stores that row's revision on the article, so revisions follow commit
//! order (there is one writer) and the log has exactly one entry per write.
//!
//! The search index is written last, after an import's items: FTS5 flushes
//! its pending terms to disk at every savepoint, so writing it inside each
//! item's savepoint would write (and later merge) one tiny segment per item.

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
use crate::query::{SortField, search_words};
use crate::store::{ChangeKind, Deleted, UpsertItem, UpsertOutcome};

/// Stores a new article; `AlreadyExists` if the key is taken.
pub(super) fn create(
    connection: &mut Connection,
    key: ArticleKey,
    content: ArticleContent,
) -> Result<Article, Error> {
    content.validate()?;
    in_transaction(connection, |transaction| {
        let mut search = SearchUpdates::default();
        let article = write_new(transaction, key, content, now(), &mut search)?;
        search.apply(transaction)?;
        Ok(article)
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
        let (key, content) = patch.apply(&state.key, &content)?;
        let version = ArticleVersion::new(state.id, key, content, state.create_time, now());
        if version.etag == state.etag {
            return Ok(state.into_article(version.content));
        }
        let mut search = SearchUpdates::default();
        let article = write_existing(transaction, state.seq, version, &mut search)?;
        search.apply(transaction)?;
        Ok(article)
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

/// Creates or replaces each item by key, each inside its own savepoint, all
/// in one transaction and so one durable commit.
pub(super) fn upsert_batch(
    connection: &mut Connection,
    items: Vec<UpsertItem>,
) -> Result<Vec<Result<UpsertOutcome, Error>>, Error> {
    let mut transaction = begin(connection)?;
    let time = now();
    let mut outcomes = Vec::with_capacity(items.len());
    let mut search = SearchUpdates::default();
    for item in items {
        let savepoint = transaction.savepoint().context("starting an import item")?;
        let mut item_search = SearchUpdates::default();
        let outcome = upsert_one(&savepoint, item, time, &mut item_search);
        if outcome.is_ok() {
            savepoint.commit().context("finishing an import item")?;
            search.append(item_search);
        } else {
            savepoint.finish().context("rolling back an import item")?;
        }
        outcomes.push(outcome);
    }
    search.apply(&transaction)?;
    transaction.commit().context("committing an import")?;
    Ok(outcomes)
}

fn upsert_one(
    connection: &Connection,
    item: UpsertItem,
    time: DateTime<Utc>,
    search: &mut SearchUpdates,
) -> Result<UpsertOutcome, Error> {
    item.content.validate()?;
    let Some(state) = find_state_by_key(connection, &item.key)? else {
        return write_new(connection, item.key, item.content, time, search)
            .map(UpsertOutcome::Created);
    };
    let version = ArticleVersion::new(state.id, item.key, item.content, state.create_time, time);
    if version.etag == state.etag {
        // Equal etags mean equal content, so the item's content is the
        // stored one and need not be read back.
        return Ok(UpsertOutcome::Unchanged(
            state.into_article(version.content),
        ));
    }
    write_existing(connection, state.seq, version, search).map(UpsertOutcome::Updated)
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

const STATE_COLUMNS: &str = "seq, id, key, create_time, update_time, revision, etag";

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
        Lookup::Id(id) => find_state_where(connection, "id", &id.to_string()),
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
    find_state_where(connection, "key", key.as_str())
}

/// `column` is one of our own column names, never caller input.
fn find_state_where(
    connection: &Connection,
    column: &'static str,
    value: &str,
) -> Result<Option<StoredState>, Error> {
    connection
        .prepare_cached(&format!(
            "SELECT {STATE_COLUMNS} FROM articles WHERE {column} = ?1"
        ))
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

/// An article as one write stores it, with its serialized forms computed
/// once.
struct ArticleVersion {
    id: ArticleId,
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
    ) -> Self {
        let etag = content.etag(&key);
        let front_matter = content.front_matter_json();
        Self {
            id,
            key,
            content,
            front_matter,
            create_time,
            update_time,
            etag,
        }
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

fn write_new(
    connection: &Connection,
    key: ArticleKey,
    content: ArticleContent,
    time: DateTime<Utc>,
    search: &mut SearchUpdates,
) -> Result<Article, Error> {
    let version = ArticleVersion::new(ArticleId::generate(), key, content, time, time);
    let revision = log_change(connection, ChangeKind::Created, &version)?;
    let seq = connection
        .prepare_cached(
            "INSERT INTO articles (id, key, front_matter, body, published_at, \
             published_nanos, sort_heat, sort_quality, published, category, kind, \
             provider_domain, create_time, update_time, revision, etag) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) \
             RETURNING seq",
        )
        .and_then(|mut statement| {
            let columns = ExtractedColumns::of(&version.content);
            statement.query_row(
                params![
                    version.id.to_string(),
                    version.key.as_str(),
                    version.front_matter,
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
                    version.etag.0,
                ],
                |row| row.get::<_, i64>(0),
            )
        })
        .map_err(|error| key_error(error, &version.key, "inserting an article"))?;
    index_article(connection, seq, &version.content)?;
    search.insert(seq, &version.content);
    Ok(version.into_article(revision))
}

fn write_existing(
    connection: &Connection,
    seq: i64,
    version: ArticleVersion,
    search: &mut SearchUpdates,
) -> Result<Article, Error> {
    let revision = log_change(connection, ChangeKind::Updated, &version)?;
    connection
        .prepare_cached(
            "UPDATE articles SET key = ?2, front_matter = ?3, body = ?4, published_at = ?5, \
             published_nanos = ?6, sort_heat = ?7, sort_quality = ?8, published = ?9, \
             category = ?10, kind = ?11, provider_domain = ?12, update_time = ?13, \
             revision = ?14, etag = ?15 WHERE seq = ?1",
        )
        .and_then(|mut statement| {
            let columns = ExtractedColumns::of(&version.content);
            statement.execute(params![
                seq,
                version.key.as_str(),
                version.front_matter,
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
                version.etag.0,
            ])
        })
        .map_err(|error| key_error(error, &version.key, "updating an article"))?;
    unindex_article(connection, seq)?;
    index_article(connection, seq, &version.content)?;
    search.remove(seq);
    search.insert(seq, &version.content);
    Ok(version.into_article(revision))
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
/// revision, which becomes the article's.
fn log_change(
    connection: &Connection,
    kind: ChangeKind,
    version: &ArticleVersion,
) -> Result<Revision, Error> {
    connection
        .prepare_cached(
            "INSERT INTO change_log (kind, commit_time, article_id, key, front_matter, body, \
             create_time, update_time, etag) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
             RETURNING revision",
        )
        .and_then(|mut statement| {
            statement.query_row(
                params![
                    change_kind_column(kind),
                    micros(version.update_time),
                    version.id.to_string(),
                    version.key.as_str(),
                    version.front_matter,
                    version.content.body,
                    micros(version.create_time),
                    micros(version.update_time),
                    version.etag.0,
                ],
                |row| row.get(0),
            )
        })
        .map(Revision)
        .context("appending to the change log")
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
/// searches, separated by spaces.
fn search_text(content: &ArticleContent) -> String {
    let haystack = format!(
        "{} {}",
        content.title,
        content.excerpt.as_deref().unwrap_or_default()
    );
    search_words(&haystack).join(" ")
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
struct SearchUpdates {
    /// An article's row id, and its new search text (`None`: remove it).
    changes: Vec<(i64, Option<String>)>,
}

impl SearchUpdates {
    fn insert(&mut self, seq: i64, content: &ArticleContent) {
        self.changes.push((seq, Some(search_text(content))));
    }

    fn remove(&mut self, seq: i64) {
        self.changes.push((seq, None));
    }

    fn append(&mut self, other: SearchUpdates) {
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
        connection
            .execute_batch(
                "CREATE TEMP TRIGGER fail_at_url BEFORE INSERT ON main.article_urls \
                 WHEN NEW.url = 'https://fail.example/' \
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
            )
            .expect("the trigger");
        let outcomes = upsert_batch(
            &mut connection,
            vec![
                item("first", "https://one.example/"),
                item("failing", "https://fail.example/"),
                item("last", "https://two.example/"),
            ],
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
