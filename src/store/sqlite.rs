//! The embedded default store: SQLite through rusqlite.
//!
//! One database file in WAL mode. Writes are serialised through one
//! connection owned by a dedicated thread (`writer`): SQLite admits a single
//! writer, so queueing in process is cheaper and fairer than contending for
//! its lock. Reads use a pool of read-only connections (deadpool-sqlite),
//! each call run on a blocking thread; in WAL mode they read the last
//! committed snapshot without waiting for the writer. Nothing runs SQLite on
//! the async runtime's threads.
//!
//! Durability: `synchronous = FULL`, so a commit is on disk (the WAL is
//! synced) before a write is acknowledged. An import batch is one
//! transaction, so one sync.
//!
//! The schema and its migrations are in `schema`; the SQL of a list page in
//! `list_sql`.

mod list_sql;
mod reads;
mod rows;
mod schema;
mod writer;
mod writes;

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use deadpool_sqlite::{Hook, HookError, Pool, Runtime};
use rusqlite::Connection;

use self::rows::SqliteContext;
use self::writer::Writer;
use crate::article::{Article, ArticleContent, ArticleKey, ArticlePatch, Etag, Lookup, Revision};
use crate::error::Error;
use crate::query::{Page, PageRequest};
use crate::store::{Change, Deleted, Store, StoreResult, UpsertItem, UpsertOutcome};

/// How long a connection waits for a lock held by another process (a
/// backup, the `sqlite3` shell) before reporting `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a read waits for a free pooled connection.
const READER_WAIT: Duration = Duration::from_secs(30);
/// Prepared statements kept per connection: list statements vary with the
/// filters set, so more than rusqlite's default of 16.
const STATEMENT_CACHE_CAPACITY: usize = 128;
/// The writer's page cache, in KiB (SQLite's negative `cache_size`), so an
/// import batch's pages stay in memory until its commit.
const WRITER_CACHE_KIB: i64 = 32 * 1024;

/// The SQLite store. See the module documentation for its design.
pub struct SqliteStore {
    writer: Writer,
    readers: Pool,
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
    /// at `path` and migrates it to the current schema.
    ///
    /// This blocks on file I/O: call it at start-up, or from
    /// `tokio::task::spawn_blocking`, not on a runtime thread under load.
    pub fn open(path: &Path) -> Result<Self, Error> {
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
        let readers = reader_pool(path)?;
        Ok(Self {
            writer: Writer::start(connection)?,
            readers,
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` on a pooled read connection on a blocking thread.
    async fn read<T, Work>(&self, work: Work) -> Result<T, Error>
    where
        T: Send + 'static,
        Work: FnOnce(&mut Connection) -> Result<T, Error> + Send + 'static,
    {
        let connection = self.readers.get().await.map_err(|error| {
            Error::Unavailable(format!("no SQLite read connection available: {error}"))
        })?;
        connection
            .interact(work)
            .await
            .map_err(|error| Error::Internal(format!("an SQLite read failed: {error}")))?
    }
}

/// The write connection: WAL (readers never block the writer or each
/// other), durable commits, enforced foreign keys.
fn configure_writer(connection: &Connection, opening: &str) -> Result<(), Error> {
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
fn configure_reader(connection: &mut Connection) -> rusqlite::Result<()> {
    connection.pragma_update(None, "query_only", "ON")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(())
}

fn reader_pool(path: &Path) -> Result<Pool, Error> {
    let readers = std::thread::available_parallelism().map_or(4, |count| count.get().max(4));
    deadpool_sqlite::Config::new(path)
        .builder(Runtime::Tokio1)
        .map_err(|error| Error::Internal(format!("configuring the SQLite read pool: {error}")))?
        .max_size(readers)
        .wait_timeout(Some(READER_WAIT))
        .post_create(Hook::async_fn(|connection, _metrics| {
            Box::pin(async move {
                connection
                    .interact(configure_reader)
                    .await
                    .map_err(|error| HookError::message(error.to_string()))?
                    .map_err(HookError::Backend)
            })
        }))
        .build()
        .map_err(|error| Error::Internal(format!("building the SQLite read pool: {error}")))
}

#[async_trait]
impl Store for SqliteStore {
    async fn get(&self, lookup: &Lookup) -> StoreResult<Option<Article>> {
        let lookup = lookup.clone();
        self.read(move |connection| reads::get(connection, &lookup))
            .await
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

    async fn create(&self, key: ArticleKey, content: ArticleContent) -> StoreResult<Article> {
        self.writer
            .run(move |connection| writes::create(connection, key, content))
            .await
    }

    async fn update(
        &self,
        target: &Lookup,
        patch: &ArticlePatch,
        expected: Option<&Etag>,
    ) -> StoreResult<Article> {
        let (target, patch, expected) = (target.clone(), patch.clone(), expected.cloned());
        self.writer
            .run(move |connection| writes::update(connection, &target, &patch, expected.as_ref()))
            .await
    }

    async fn delete(&self, target: &Lookup, expected: Option<&Etag>) -> StoreResult<Deleted> {
        let (target, expected) = (target.clone(), expected.cloned());
        self.writer
            .run(move |connection| writes::delete(connection, &target, expected.as_ref()))
            .await
    }

    async fn upsert_batch(
        &self,
        items: Vec<UpsertItem>,
    ) -> StoreResult<Vec<StoreResult<UpsertOutcome>>> {
        self.writer
            .run(move |connection| writes::upsert_batch(connection, items))
            .await
    }

    async fn changes_since(&self, after: Revision, limit: usize) -> StoreResult<Vec<Change>> {
        self.read(move |connection| reads::changes_since(connection, after, limit))
            .await
    }

    async fn current_revision(&self) -> StoreResult<Revision> {
        self.read(|connection| reads::current_revision(connection))
            .await
    }
}
