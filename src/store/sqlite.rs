//! The embedded default store: SQLite through rusqlite.
//!
//! One database file in WAL mode. Writes are serialised through one
//! connection owned by a dedicated thread (`writer`): SQLite admits a single
//! writer, so queueing in process is cheaper and fairer than contending for
//! its lock. Reads use a small pool of read-only connections (`readers`),
//! each call run on a blocking thread; in WAL mode they read the last
//! committed snapshot without waiting for the writer. Nothing runs SQLite on
//! the async runtime's threads.
//!
//! Durability: `synchronous = FULL`, so a commit is on disk (the WAL is
//! synced) before a write is acknowledged. An import batch is one
//! transaction, so one sync. The WAL is copied back into the database file
//! by a thread of its own (`checkpointer`), never inside a commit.
//!
//! Lookups may go through a read cache (`read_cache`, `with_read_cache`),
//! which every write empties: only this process writes the file.
//!
//! The schema and its migrations are in `schema`; the SQL of a list page in
//! `list_sql`. Each article's encoding (what StreamArticles sends) is made
//! by the `ArticleEncoder` the store is opened with, kept beside it, and
//! brought up to date at open if that encoder changed (`reencode`).

mod checkpointer;
mod list_sql;
mod read_cache;
mod readers;
mod reads;
mod reencode;
mod rows;
mod schema;
mod writer;
mod writes;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags};

pub use self::read_cache::DEFAULT_READ_CACHE_ARTICLES;

use self::read_cache::{Cached, ReadCache};
use self::readers::Readers;
use self::rows::SqliteContext;
use self::writer::Writer;
use crate::article::{Article, ArticleContent, ArticleKey, ArticlePatch, Etag, Lookup, Revision};
use crate::error::Error;
use crate::query::{Page, PageRequest};
use crate::store::write_observers::WriteObservers;
use crate::store::{
    ArticleEncoder, Change, Deleted, EncodedPage, Retention, Store, StoreResult, UpsertItem,
    UpsertOutcome, WriteObserver,
};

/// How long a connection waits for a lock held by another process (a
/// backup, the `sqlite3` shell) before reporting `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a read waits for a free pooled connection.
const READER_WAIT: Duration = Duration::from_secs(30);
/// Prepared statements kept per connection: list statements vary with the
/// filters set, so more than rusqlite's default of 16.
const STATEMENT_CACHE_CAPACITY: usize = 128;
/// The page size of a new database: a typical encoded article (1.5 KB)
/// then fits in its leaf page of `encoded_articles`, whose rows are keyed
/// by order (schema version 5), so a stream reads several articles a page.
/// With 4 KiB pages such a row would spill into an overflow page of its own.
const PAGE_SIZE: i64 = 8192;

/// The writer's page cache, in KiB (SQLite's negative `cache_size`), so an
/// import batch's pages stay in memory until its commit.
const WRITER_CACHE_KIB: i64 = 32 * 1024;

/// The SQLite store. See the module documentation for its design.
pub struct SqliteStore {
    writer: Writer,
    readers: Readers,
    /// Encodes each article as it is written (`encoded_articles`).
    encoder: Arc<dyn ArticleEncoder>,
    /// Lookups, if `with_read_cache` turned it on.
    read_cache: Option<Arc<ReadCache>>,
    /// Told of every write; the read cache first.
    write_observers: WriteObservers,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed, with its parent directories) the database
    /// at `path`, migrates it to the current schema, and re-encodes every
    /// article with `encoder` if the stored encodings were written by
    /// another (`reencode`), so what it returns serves current encodings.
    ///
    /// This blocks on file I/O: call it at start-up, or from
    /// `tokio::task::spawn_blocking`, not on a runtime thread under load.
    pub fn open(path: &Path, encoder: Arc<dyn ArticleEncoder>) -> Result<Self, Error> {
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|error| {
                Error::Unavailable(format!("creating directory {}: {error}", parent.display()))
            })?;
        }
        let opening = format!("opening {}", path.display());
        let mut connection = Connection::open(path).context(&opening)?;
        configure_writer(&connection, &opening)?;
        schema::migrations()
            .to_latest(&mut connection)
            .map_err(|error| {
                Error::Internal(format!(
                    "migrating {} to the current schema: {error}",
                    path.display()
                ))
            })?;
        reencode::bring_up_to_date(&mut connection, encoder.as_ref())?;
        let readers = Readers::new(
            path.to_path_buf(),
            reader_count(),
            READER_WAIT,
            configure_reader,
        );
        Ok(Self {
            writer: Writer::start(connection, path)?,
            readers,
            encoder,
            read_cache: None,
            write_observers: WriteObservers::default(),
            path: path.to_path_buf(),
        })
    }

    /// This store with a cache of up to `capacity` lookups in front of its
    /// reads (see `read_cache`). Only for a database every write to which
    /// passes through this store.
    pub fn with_read_cache(mut self, capacity: usize) -> Self {
        let cache = Arc::new(ReadCache::new(capacity));
        self.write_observers
            .add(Arc::clone(&cache) as Arc<dyn WriteObserver>);
        self.read_cache = Some(cache);
        self
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One article, read from the database.
    async fn get_uncached(&self, lookup: &Lookup) -> StoreResult<Option<Article>> {
        let lookup = lookup.clone();
        self.read(move |connection| reads::get(connection, &lookup))
            .await
    }

    /// Runs `work` on a pooled read connection on a blocking thread.
    async fn read<T, Work>(&self, work: Work) -> Result<T, Error>
    where
        T: Send + 'static,
        Work: FnOnce(&mut Connection) -> Result<T, Error> + Send + 'static,
    {
        self.readers.run(work).await
    }
}

/// The write connection: 8 KiB pages if the database is new, WAL (readers
/// never block the writer or each other), durable commits, enforced
/// foreign keys.
fn configure_writer(connection: &Connection, opening: &str) -> Result<(), Error> {
    // Only a database with no table yet takes it; an existing one keeps
    // its page size.
    connection
        .pragma_update(None, "page_size", PAGE_SIZE)
        .context(opening)?;
    let journal_mode: String = connection
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .context(opening)?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Internal(format!(
            "{opening}: the database refused WAL mode (journal_mode is {journal_mode})"
        )));
    }
    connection
        .pragma_update(None, "synchronous", "FULL")
        .and_then(|()| connection.pragma_update(None, "foreign_keys", "ON"))
        .and_then(|()| connection.pragma_update(None, "cache_size", -WRITER_CACHE_KIB))
        // Savepoint journals (one per import item) in memory, not temp files.
        .and_then(|()| connection.pragma_update(None, "temp_store", "MEMORY"))
        .and_then(|()| connection.busy_timeout(BUSY_TIMEOUT))
        .context(opening)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(())
}

/// A read connection: refuses writes, so a bug cannot write around the
/// writer thread.
fn configure_reader(connection: &Connection) -> rusqlite::Result<()> {
    connection.pragma_update(None, "query_only", "ON")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(())
}

/// A further connection to the database the writer opened: read-write,
/// never creating it. Each is used by one thread at a time.
fn open_existing(path: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

/// As many readers as cores (at least 4): reads are short and CPU-bound
/// once the pages are cached.
fn reader_count() -> usize {
    std::thread::available_parallelism().map_or(4, |count| count.get().max(4))
}

#[async_trait]
impl Store for SqliteStore {
    async fn get(&self, lookup: &Lookup) -> StoreResult<Option<Article>> {
        if self.read_cache.is_some() {
            return Ok(self.get_shared(lookup).await?.map(Arc::unwrap_or_clone));
        }
        self.get_uncached(lookup).await
    }

    async fn get_shared(&self, lookup: &Lookup) -> StoreResult<Option<Arc<Article>>> {
        let Some(cache) = &self.read_cache else {
            return Ok(self.get_uncached(lookup).await?.map(Arc::new));
        };
        let generation = match cache.cached(lookup) {
            Cached::Hit(article) => return Ok(Some(article)),
            Cached::Miss(generation) => generation,
        };
        let article = self.get_uncached(lookup).await?.map(Arc::new);
        if let Some(article) = &article {
            cache.remember(generation, lookup, article);
        }
        Ok(article)
    }

    async fn get_many(&self, lookups: &[Lookup]) -> StoreResult<Vec<Option<Article>>> {
        let lookups = lookups.to_vec();
        self.read(move |connection| reads::get_many(connection, &lookups))
            .await
    }

    async fn list(&self, request: &PageRequest) -> StoreResult<Page> {
        let request = request.clone();
        self.read(move |connection| reads::list(connection, &request))
            .await
    }

    async fn list_encoded(&self, request: &PageRequest) -> StoreResult<EncodedPage> {
        let request = request.clone();
        self.read(move |connection| reads::list_encoded(connection, &request))
            .await
    }

    async fn create(&self, key: ArticleKey, content: ArticleContent) -> StoreResult<Article> {
        let encoder = Arc::clone(&self.encoder);
        let result = self
            .writer
            .run(move |connection| writes::create(connection, encoder.as_ref(), key, content))
            .await;
        self.write_observers.observed(result)
    }

    async fn update(
        &self,
        target: &Lookup,
        patch: &ArticlePatch,
        expected: Option<&Etag>,
    ) -> StoreResult<Article> {
        let (target, patch, expected) = (target.clone(), patch.clone(), expected.cloned());
        let encoder = Arc::clone(&self.encoder);
        let result = self
            .writer
            .run(move |connection| {
                let encoder = encoder.as_ref();
                writes::update(connection, encoder, &target, &patch, expected.as_ref())
            })
            .await;
        self.write_observers.observed(result)
    }

    async fn delete(&self, target: &Lookup, expected: Option<&Etag>) -> StoreResult<Deleted> {
        let (target, expected) = (target.clone(), expected.cloned());
        let result = self
            .writer
            .run(move |connection| writes::delete(connection, &target, expected.as_ref()))
            .await;
        self.write_observers.observed(result)
    }

    async fn upsert_batch(
        &self,
        items: Vec<UpsertItem>,
    ) -> StoreResult<Vec<StoreResult<UpsertOutcome>>> {
        // Validating and serializing needs no connection: done here, on
        // the caller's task, the one writer thread spends its time on SQL.
        let batch = writes::PreparedBatch::new(items);
        let encoder = Arc::clone(&self.encoder);
        let result = self
            .writer
            .run(move |connection| writes::upsert_batch(connection, encoder.as_ref(), batch))
            .await;
        self.write_observers.observed(result)
    }

    async fn changes_since(&self, after: Revision, limit: usize) -> StoreResult<Vec<Change>> {
        self.read(move |connection| reads::changes_since(connection, after, limit))
            .await
    }

    async fn current_revision(&self) -> StoreResult<Revision> {
        self.read(|connection| reads::current_revision(connection))
            .await
    }

    async fn compact_change_log(&self, retention: Retention) -> StoreResult<Revision> {
        self.writer
            .run(move |connection| writes::compact_change_log(connection, retention))
            .await
    }

    fn observe_writes(&self, observer: Arc<dyn WriteObserver>) {
        self.write_observers.add(observer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::encoded::DebugEncoder;

    fn open_in(directory: &tempfile::TempDir) -> SqliteStore {
        SqliteStore::open(
            &directory.path().join("store.sqlite3"),
            DebugEncoder::shared(),
        )
        .expect("the store opens")
    }

    #[tokio::test]
    async fn the_writer_is_durable_and_the_journal_is_a_wal() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let store = open_in(&directory);
        assert_eq!(writer_pragma::<String>(&store, "journal_mode").await, "wal");
        assert_eq!(
            writer_pragma::<i64>(&store, "synchronous").await,
            2,
            "synchronous = FULL"
        );
        assert_eq!(writer_pragma::<i64>(&store, "foreign_keys").await, 1);
        assert_eq!(
            writer_pragma::<i64>(&store, "page_size").await,
            PAGE_SIZE,
            "a new database's page size"
        );
    }

    /// The writer never checkpoints inside a commit (its WAL hook replaced
    /// SQLite's autocheckpoint), yet a WAL past `CHECKPOINT_PAGES` is
    /// copied into the database file: by the checkpointer, the only other
    /// connection that writes it.
    #[tokio::test]
    async fn a_growing_wal_is_checkpointed_beside_the_writer() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let path = directory.path().join("store.sqlite3");
        let store = SqliteStore::open(&path, DebugEncoder::shared()).expect("the store opens");
        let autocheckpoint = writer_pragma::<i64>(&store, "wal_autocheckpoint").await;
        assert_eq!(autocheckpoint, 0, "the writer does not checkpoint itself");

        let file_size = || std::fs::metadata(&path).expect("the database file").len();
        let before = file_size();
        // 40 articles of 100 KB: each is written three times (article,
        // change log, encoding), so about 1,500 pages of 8 KiB, between
        // the checkpointer's two thresholds.
        for batch in 0..4 {
            write_large_articles(&store, batch).await;
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while file_size() == before {
            assert!(
                std::time::Instant::now() < deadline,
                "the database file stayed at {before} bytes: nothing checkpointed the WAL"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Writes that never pause, about 150,000 pages of them (nine times
    /// `RESTART_CHECKPOINT_PAGES`), all succeed while the checkpointer
    /// works beside them, and the WAL starts over on the way: its file
    /// (which keeps its largest size) never held them all.
    #[tokio::test]
    async fn writes_that_never_pause_keep_the_wal_bounded() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let store = open_in(&directory);
        for batch in 0..400 {
            write_large_articles(&store, batch).await;
        }
        let wal = directory.path().join("store.sqlite3-wal");
        let wal_pages = std::fs::metadata(&wal).expect("the WAL").len() / PAGE_SIZE.unsigned_abs();
        let bound = i64::from(checkpointer::RESTART_CHECKPOINT_PAGES) * 5 / 4;
        assert!(
            i64::try_from(wal_pages).expect("a page count") < bound,
            "the WAL grew to {wal_pages} pages"
        );
    }

    /// Upserts 10 new articles of 100 KB each, every one succeeding.
    async fn write_large_articles(store: &SqliteStore, batch: usize) {
        let body = "checkpoint ".repeat(100 * 1024 / 11);
        let items = (0..10)
            .map(|index| {
                let mut content: ArticleContent = serde_json::from_value(serde_json::json!({
                    "title": format!("Checkpoint {batch}-{index}"),
                    "publishedDateTime": "2024-01-01T00:00:00Z",
                }))
                .expect("test content deserializes");
                content.body.clone_from(&body);
                let key = format!("checkpoint-{batch}-{index}");
                UpsertItem {
                    key: ArticleKey::parse(&key, "key").expect("a valid key"),
                    content,
                }
            })
            .collect();
        for outcome in store.upsert_batch(items).await.expect("the batch commits") {
            outcome.expect("the item is written");
        }
    }

    #[tokio::test]
    async fn read_connections_refuse_writes() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let store = open_in(&directory);
        let attempt = store
            .read(|connection| {
                connection
                    .execute("DELETE FROM change_log", [])
                    .context("writing on a read connection")
            })
            .await;
        assert!(attempt.is_err(), "{attempt:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn more_reads_than_connections_all_complete() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let store = std::sync::Arc::new(open_in(&directory));
        let reads: Vec<_> = (0..reader_count() * 8)
            .map(|_| {
                let store = std::sync::Arc::clone(&store);
                tokio::spawn(async move { store.current_revision().await })
            })
            .collect();
        for read in reads {
            let revision = read.await.expect("the read task").expect("the read");
            assert_eq!(revision, Revision(0));
        }
    }

    #[test]
    fn reopening_an_existing_database_keeps_its_schema_version() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        drop(open_in(&directory));
        let connection = Connection::open(directory.path().join("store.sqlite3")).expect("open");
        let version: i64 = connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .expect("user_version");
        assert_eq!(version, 6);
        drop(open_in(&directory));
    }

    /// A database made with 4 KiB pages keeps them (a page size cannot
    /// change under WAL) and works at the current schema.
    #[tokio::test]
    async fn a_database_with_4_kib_pages_keeps_them() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let path = directory.path().join("store.sqlite3");
        let connection = Connection::open(&path).expect("open");
        connection
            .execute_batch(
                "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE made_before (x);",
            )
            .expect("a database with 4 KiB pages");
        drop(connection);

        let store = SqliteStore::open(&path, DebugEncoder::shared()).expect("the store opens");
        write_large_articles(&store, 0).await;
        let page = store
            .list_encoded(&PageRequest {
                query: crate::query::ArticleQuery::default(),
                order: crate::query::Order::parse("").expect("the default order"),
                size: crate::query::PageSize::parse(100).expect("a page size"),
                after: None,
            })
            .await
            .expect("a stream's page");
        assert_eq!(page.articles.len(), 10);
        assert_eq!(writer_pragma::<i64>(&store, "page_size").await, 4096);
    }

    /// A pragma's value, as the writer's connection reads it.
    async fn writer_pragma<T>(store: &SqliteStore, pragma: &'static str) -> T
    where
        T: rusqlite::types::FromSql + Send + 'static,
    {
        store
            .writer
            .run(move |connection| {
                connection
                    .pragma_query_value(None, pragma, |row| row.get::<_, T>(0))
                    .context(pragma)
            })
            .await
            .expect("the pragma reads")
    }
}
