//! The import baseline: the rows an import writes, computed up front, then
//! written with rusqlite directly in one transaction with the statements
//! `src/store/sqlite/writes.rs` runs, in its order (the search index after
//! the other rows of a batch), each article's encoding among them, on a
//! connection configured as the store's
//! writer is (WAL, `synchronous = FULL`, foreign keys, cache size,
//! `temp_store = MEMORY`).
//!
//! What the baseline leaves out is what the ratio prices: gRPC, YAML
//! parsing, validation, JSON, encoding and etag computation, the per-item
//! key lookup,
//! and one commit (one WAL sync) per batch instead of one.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, bail};
use chrono::{DateTime, SubsecRound, Utc};
use newswire::article::{Article, ArticleContent, ArticleId, ArticleKey, Etag, Revision};
use newswire::query::{SortField, search_words};
use rusqlite::{Connection, TransactionBehavior, params};

use super::corpus::SourcedDocument;

/// Items per import commit: a full stream is committed in batches of this
/// many.
const STORE_BATCH: usize = newswire::api::MAX_IMPORT_BATCH;
/// The store writer's page cache, in KiB, as `src/store/sqlite.rs` sets it.
const WRITER_CACHE_KIB: i64 = 32 * 1024;

/// Everything one article write stores, ready to bind.
#[derive(Debug)]
pub struct ArticleRows {
    /// `articles.seq`: known in advance, since the database starts empty.
    seq: i64,
    id: String,
    key: String,
    front_matter: String,
    body: String,
    published_at: i64,
    published_nanos: i64,
    sort_heat: i64,
    sort_quality: i64,
    published: Option<bool>,
    category: Option<String>,
    kind: Option<String>,
    provider_domain: Option<String>,
    create_time: i64,
    update_time: i64,
    /// The revision this write takes, which its change-log row gets too.
    revision: i64,
    etag: String,
    topics: Vec<String>,
    urls: Vec<String>,
    search_text: String,
    /// The article as `wire::encode_article` encodes it (`encoded_articles`).
    encoded: Vec<u8>,
}

/// One write of the replay: an import item that changed something.
#[derive(Debug)]
pub enum RawWrite {
    Create(ArticleRows),
    Update(ArticleRows),
}

impl RawWrite {
    fn rows(&self) -> &ArticleRows {
        match self {
            RawWrite::Create(rows) | RawWrite::Update(rows) => rows,
        }
    }
}

/// What an earlier write left for a key, to replay upserts in memory.
struct Stored {
    seq: i64,
    id: ArticleId,
    create_time: i64,
    etag: String,
}

/// Replays `documents` as ImportArticles would (upsert by key; an item
/// equal to what is stored writes nothing) into the list of row writes.
pub fn plan(documents: &[SourcedDocument]) -> anyhow::Result<Vec<RawWrite>> {
    let time = Utc::now().trunc_subsecs(6).timestamp_micros();
    let mut stored: HashMap<String, Stored> = HashMap::new();
    let mut writes = Vec::with_capacity(documents.len());
    for document in documents {
        let content = newswire::document::parse(&document.source, &document.text)
            .with_context(|| format!("parsing {}", document.source))?;
        content.validate()?;
        let key = ArticleKey::default_for(Some(&document.source), &content)?;
        let etag = content.etag(&key).0;
        let revision = i64::try_from(writes.len())? + 1;
        match stored.get_mut(key.as_str()) {
            Some(previous) if previous.etag == etag => {}
            Some(previous) => {
                previous.etag.clone_from(&etag);
                let rows = rows_of(&key, &content, previous, time, revision, etag);
                writes.push(RawWrite::Update(rows));
            }
            None => {
                let previous = Stored {
                    seq: i64::try_from(stored.len())? + 1,
                    id: ArticleId::generate(),
                    create_time: time,
                    etag: etag.clone(),
                };
                let rows = rows_of(&key, &content, &previous, time, revision, etag);
                stored.insert(key.as_str().to_string(), previous);
                writes.push(RawWrite::Create(rows));
            }
        }
    }
    Ok(writes)
}

fn rows_of(
    key: &ArticleKey,
    content: &ArticleContent,
    stored: &Stored,
    time: i64,
    revision: i64,
    etag: String,
) -> ArticleRows {
    let search_haystack = format!(
        "{} {}",
        content.title,
        content.excerpt.as_deref().unwrap_or_default()
    );
    let encoded = newswire::wire::encode_article(Article {
        id: stored.id,
        key: key.clone(),
        content: content.clone(),
        create_time: DateTime::from_timestamp_micros(stored.create_time).unwrap_or_default(),
        update_time: DateTime::from_timestamp_micros(time).unwrap_or_default(),
        revision: Revision(revision),
        etag: Etag(etag.clone()),
    });
    ArticleRows {
        seq: stored.seq,
        id: stored.id.to_string(),
        key: key.as_str().to_string(),
        front_matter: content.front_matter_json(),
        body: content.body.clone(),
        published_at: content.sort_value(SortField::PublishedDateTime),
        published_nanos: i64::from(content.published_date_time.timestamp_subsec_nanos() % 1000),
        sort_heat: content.sort_value(SortField::Heat),
        sort_quality: content.sort_value(SortField::Quality),
        published: content.published,
        category: content.category.clone(),
        kind: content.kind.clone(),
        provider_domain: content
            .provider
            .as_ref()
            .and_then(|provider| provider.domain.clone()),
        create_time: stored.create_time,
        update_time: time,
        revision,
        etag,
        topics: content.topics.clone(),
        urls: content.urls().into_iter().map(str::to_string).collect(),
        search_text: search_words(&search_haystack).join(" "),
        encoded,
    }
}

/// A connection configured as the store's writer.
pub fn open(path: &Path) -> anyhow::Result<Connection> {
    let connection = Connection::open(path)?;
    let journal_mode: String =
        connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        bail!("the database refused WAL mode");
    }
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    connection.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
    connection.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(connection)
}

/// How the baseline groups its writes into transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// The baseline proper: everything in one transaction.
    OneTransaction,
    /// A diagnostic that prices the store's grouping: a commit every
    /// `STORE_BATCH` writes, as `writes::upsert_batch` commits an import
    /// batch, but no lookups and nothing computed.
    LikeTheStore,
}

impl Grouping {
    /// The name on the command line of `raw-insert`.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        match text {
            "one-transaction" => Ok(Self::OneTransaction),
            "like-the-store" => Ok(Self::LikeTheStore),
            other => bail!("grouping is one-transaction or like-the-store, not {other:?}"),
        }
    }
}

/// Writes every row: the timed part.
pub fn write_all(
    connection: &mut Connection,
    writes: &[RawWrite],
    grouping: Grouping,
) -> anyhow::Result<()> {
    let batch_size = match grouping {
        Grouping::OneTransaction => writes.len().max(1),
        Grouping::LikeTheStore => STORE_BATCH,
    };
    for batch in writes.chunks(batch_size) {
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        write_rows(&transaction, batch)?;
        transaction.commit()?;
    }
    Ok(())
}

/// Runs the statements of `writes` on `connection`, which is inside a
/// transaction.
fn write_rows(connection: &Connection, writes: &[RawWrite]) -> anyhow::Result<()> {
    let transaction = connection;
    {
        let mut log = transaction.prepare(
            "INSERT INTO change_log (kind, commit_time, article_id, key, front_matter, body, \
             create_time, update_time, etag, previous_front_matter) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, \
             (SELECT front_matter FROM articles WHERE seq = ?10))",
        )?;
        let mut insert = transaction.prepare(
            "INSERT INTO articles (seq, id, key, front_matter, body, published_at, \
             published_nanos, sort_heat, sort_quality, published, category, kind, \
             provider_domain, create_time, update_time, revision, etag) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        )?;
        let mut update = transaction.prepare(
            "UPDATE articles SET key = ?2, front_matter = ?3, body = ?4, published_at = ?5, \
             published_nanos = ?6, sort_heat = ?7, sort_quality = ?8, published = ?9, \
             category = ?10, kind = ?11, provider_domain = ?12, update_time = ?13, \
             revision = ?14, etag = ?15 WHERE seq = ?1",
        )?;
        let mut delete_topics =
            transaction.prepare("DELETE FROM article_topics WHERE article_seq = ?1")?;
        let mut delete_urls =
            transaction.prepare("DELETE FROM article_urls WHERE article_seq = ?1")?;
        let mut delete_search =
            transaction.prepare("DELETE FROM article_search WHERE rowid = ?1")?;
        let mut insert_topic = transaction
            .prepare("INSERT OR IGNORE INTO article_topics (article_seq, topic) VALUES (?1, ?2)")?;
        let mut insert_url = transaction
            .prepare("INSERT OR IGNORE INTO article_urls (article_seq, url) VALUES (?1, ?2)")?;
        let mut insert_search =
            transaction.prepare("INSERT INTO article_search (rowid, words) VALUES (?1, ?2)")?;
        let mut insert_encoded = transaction.prepare(
            "INSERT OR REPLACE INTO encoded_articles (published_at, id, seq, article) \
             VALUES (?1, ?2, ?3, ?4)",
        )?;

        for write in writes {
            let rows = write.rows();
            let kind = match write {
                RawWrite::Create(_) => "created",
                RawWrite::Update(_) => "updated",
            };
            // An update keeps the front matter it replaces, as the store's
            // change log does.
            let updating = match write {
                RawWrite::Create(_) => None,
                RawWrite::Update(rows) => Some(rows.seq),
            };
            log.execute(params![
                kind,
                rows.update_time,
                rows.id,
                rows.key,
                rows.front_matter,
                rows.body,
                rows.create_time,
                rows.update_time,
                rows.etag,
                updating,
            ])?;
            match write {
                RawWrite::Create(rows) => {
                    insert.execute(params![
                        rows.seq,
                        rows.id,
                        rows.key,
                        rows.front_matter,
                        rows.body,
                        rows.published_at,
                        rows.published_nanos,
                        rows.sort_heat,
                        rows.sort_quality,
                        rows.published,
                        rows.category,
                        rows.kind,
                        rows.provider_domain,
                        rows.create_time,
                        rows.update_time,
                        rows.revision,
                        rows.etag,
                    ])?;
                }
                RawWrite::Update(rows) => {
                    update.execute(params![
                        rows.seq,
                        rows.key,
                        rows.front_matter,
                        rows.body,
                        rows.published_at,
                        rows.published_nanos,
                        rows.sort_heat,
                        rows.sort_quality,
                        rows.published,
                        rows.category,
                        rows.kind,
                        rows.provider_domain,
                        rows.update_time,
                        rows.revision,
                        rows.etag,
                    ])?;
                    delete_topics.execute([rows.seq])?;
                    delete_urls.execute([rows.seq])?;
                }
            }
            for topic in &rows.topics {
                insert_topic.execute(params![rows.seq, topic])?;
            }
            for url in &rows.urls {
                insert_url.execute(params![rows.seq, url])?;
            }
            insert_encoded.execute(params![rows.published_at, rows.id, rows.seq, rows.encoded])?;
        }
        // The search index last, as the store writes it.
        for write in writes {
            let rows = write.rows();
            if let RawWrite::Update(_) = write {
                delete_search.execute([rows.seq])?;
            }
            insert_search.execute(params![rows.seq, rows.search_text])?;
        }
    }
    Ok(())
}

/// Checks the baseline wrote what the service would have: one revision
/// per write, in order, and one live article per key, each encoded.
pub fn check(connection: &Connection, writes: &[RawWrite]) -> anyhow::Result<()> {
    let last_revision: i64 = connection.query_row(
        "SELECT COALESCE(MAX(revision), 0) FROM change_log",
        [],
        |row| row.get(0),
    )?;
    let expected_revision = writes.last().map_or(0, |write| write.rows().revision);
    if last_revision != expected_revision {
        bail!("the change log ends at {last_revision}, not {expected_revision}");
    }
    let articles: i64 =
        connection.query_row("SELECT COUNT(*) FROM articles", [], |row| row.get(0))?;
    let created = writes
        .iter()
        .filter(|write| matches!(write, RawWrite::Create(_)))
        .count();
    if usize::try_from(articles)? != created {
        bail!("{articles} articles stored, {created} created");
    }
    let encoded: i64 =
        connection.query_row("SELECT COUNT(*) FROM encoded_articles", [], |row| {
            row.get(0)
        })?;
    if encoded != articles {
        bail!("{encoded} encodings stored for {articles} articles");
    }
    Ok(())
}
