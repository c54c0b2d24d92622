//! The production store: PostgreSQL through tokio-postgres and a
//! deadpool-postgres pool.
//!
//! Any number of replicas may serve one database. Everything that must
//! hold across them is enforced by PostgreSQL itself: key uniqueness (a
//! unique constraint), one writer per article at a time (row locks taken
//! with `SELECT … FOR UPDATE`), revisions in commit order (a counter row
//! locked until commit; see `writes`), one migration at a time (an advisory
//! lock; see `schema`).
//!
//! Writes take a connection from a pool (`connection`): each is checked
//! before it is handed out again (closed, broken, or left in a
//! transaction: closed and replaced) and keeps its prepared statements.
//! Writes are READ COMMITTED transactions, retried on serialization
//! failure or deadlock. Reads are single statements, so each sees one
//! snapshot and needs no session of its own: they are pipelined on a few
//! shared connections (`shared_reads`), one round trip each, many per
//! backend wake-up. Nothing blocks the async runtime: the client is async.
//! Lookups by id go through a read cache (`read_cache`) that checks the
//! change log before it answers, so it stays exact across replicas.
//!
//! The schema and its migrations are in `schema`; the SQL of a list page in
//! `list_sql`; the mapping of PostgreSQL errors in `errors`.
//!
//! Encodings: unlike SQLite, this store keeps none. `list_encoded`
//! encodes the page it lists with the `ArticleEncoder` it was given, so
//! what StreamArticles sends is never older than the running encoder and
//! there is nothing to version or re-encode when a field is added. Were
//! encodings ever kept here: re-encode at start-up under the migration
//! advisory lock (one replica does it, the others wait and find it done),
//! and let no replica write an encoding whose fingerprint is not the
//! recorded one, since during a rolling upgrade an older replica would
//! otherwise write stale bytes after the re-encoding finished.

mod connection;
mod errors;
mod explain;
mod list_sql;
mod listener;
mod read_cache;
mod reads;
mod rows;
mod schema;
mod search_index;
mod shared_reads;
mod writes;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Object, Pool};

pub use self::explain::PlannedRead;
pub use self::read_cache::DEFAULT_READ_CACHE_ARTICLES;

use self::connection::Settings;
use self::errors::{Failure, pool_failure};
use self::read_cache::ReadCache;
use self::shared_reads::{SharedReader, SharedReaders};
use crate::article::{Article, ArticleContent, ArticleKey, ArticlePatch, Etag, Lookup, Revision};
use crate::error::Error;
use crate::query::{Page, PageRequest};
use crate::store::write_observers::WriteObservers;
use crate::store::{
    ArticleEncoder, Change, Deleted, EncodedPage, Retention, Store, StoreResult, UpsertItem,
    UpsertOutcome, WriteObserver,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// Most connections open at once (`serve --database-pool-size`). Each
    /// serves one statement or transaction at a time; PostgreSQL itself
    /// serves best with a few per core of its own, across all replicas.
    pub pool_size: usize,
    /// How long a call waits for a free connection before `Unavailable`.
    pub wait_timeout: Duration,
    /// Articles the read cache keeps (`serve --database-read-cache`); 0
    /// turns it off. See `read_cache`: exact across replicas, at the cost
    /// of one small statement shared by the lookups in flight.
    pub read_cache_articles: usize,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            pool_size: 16,
            wait_timeout: Duration::from_secs(30),
            read_cache_articles: DEFAULT_READ_CACHE_ARTICLES,
        }
    }
}

/// How many of `pool_size` connections carry the reads, shared (see
/// `shared_reads`): one per eight, at least one. The rest, at least one,
/// are the write pool.
fn shared_read_connections(pool_size: usize) -> usize {
    (pool_size / 8).max(1)
}

/// The PostgreSQL store. See the module documentation for its design.
pub struct PostgresStore {
    /// Write transactions, a session each.
    pool: Pool,
    /// Reads, pipelined on a few shared sessions.
    readers: SharedReaders,
    /// Lookups by id, unless turned off.
    cache: Option<ReadCache>,
    /// For the change feed's listener connection, opened apart from the pool.
    settings: Arc<Settings>,
    /// `host:port/database`, for messages.
    target: String,
    /// Told of every write through this store.
    write_observers: WriteObservers,
    /// Encodes the articles of `list_encoded`.
    encoder: Arc<dyn ArticleEncoder>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PostgresStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:
    /// port/database?sslmode=require`) with the default options, and
    /// migrates it to the current schema. `encoder` encodes the articles
    /// StreamArticles sends (production: `wire::article_encoder()`).
    pub async fn connect(url: &str, encoder: Arc<dyn ArticleEncoder>) -> Result<Self, Error> {
        Self::connect_with(url, PostgresOptions::default(), encoder).await
    }

    /// Like `connect`, with `options`. Fails with `Unavailable` if the
    /// database cannot be reached, so a misconfiguration shows at start-up.
    pub async fn connect_with(
        url: &str,
        options: PostgresOptions,
        encoder: Arc<dyn ArticleEncoder>,
    ) -> Result<Self, Error> {
        let settings = Arc::new(Settings::parse(url)?);
        let readers = shared_read_connections(options.pool_size);
        let pool = settings.pool(&PostgresOptions {
            pool_size: options.pool_size.saturating_sub(readers).max(1),
            ..options.clone()
        })?;
        let target = settings.target().to_string();
        let at_target = |failure: Failure| match failure.into_error() {
            Error::Unavailable(message) => Error::Unavailable(format!("{target}: {message}")),
            Error::Internal(message) => Error::Internal(format!("{target}: {message}")),
            other => other,
        };
        // Migrations run on a connection of their own, closed afterwards,
        // which releases the migration lock whatever happened.
        let connection = pool
            .get()
            .await
            .map_err(|error| at_target(pool_failure(error)))?;
        let mut connection = Object::take(connection);
        let version = schema::migrate(&mut connection).await.map_err(at_target)?;
        drop(connection);
        tracing::info!(
            target = %target,
            tls = settings.uses_tls(),
            pool_size = options.pool_size,
            schema_version = version,
            "PostgreSQL store ready"
        );
        Ok(Self {
            pool,
            readers: SharedReaders::new(settings.clone(), readers),
            cache: (options.read_cache_articles > 0)
                .then(|| ReadCache::new(options.read_cache_articles)),
            settings,
            target,
            write_observers: WriteObservers::default(),
            encoder,
        })
    }

    /// `host:port/database` of the store.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The executed plan (`EXPLAIN (ANALYZE, BUFFERS)`) of a read, as
    /// PostgreSQL prints it: a diagnostic (see `explain`).
    pub async fn explain(&self, read: &PlannedRead) -> StoreResult<String> {
        let client = self.client().await.map_err(Failure::into_error)?;
        explain::explain(&client, read)
            .await
            .map_err(Failure::into_error)
    }

    /// A shared connection for a read.
    async fn client(&self) -> Result<Arc<SharedReader>, Failure> {
        self.readers.get().await
    }

    /// The pool's connections (open, idle) and callers waiting, for metrics.
    pub fn pool_status(&self) -> deadpool_postgres::Status {
        self.pool.status()
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn get(&self, lookup: &Lookup) -> StoreResult<Option<Article>> {
        Ok(self.get_shared(lookup).await?.map(Arc::unwrap_or_clone))
    }

    async fn get_shared(&self, lookup: &Lookup) -> StoreResult<Option<Arc<Article>>> {
        let client = self.client().await.map_err(Failure::into_error)?;
        let read = |client| async move {
            let article = reads::get(client, lookup).await;
            Ok(article.map_err(Failure::into_error)?.map(Arc::new))
        };
        let (Some(cache), Lookup::Id(id)) = (&self.cache, lookup) else {
            return read(&client).await;
        };
        let token = cache.catch_up(&client).await?;
        if let Some(article) = cache.cached(*id) {
            return Ok(Some(article));
        }
        let article = read(&client).await?;
        if let Some(article) = &article {
            cache.remember(token, article);
        }
        Ok(article)
    }

    async fn get_many(&self, lookups: &[Lookup]) -> StoreResult<Vec<Option<Article>>> {
        let client = self.client().await.map_err(Failure::into_error)?;
        reads::get_many(&client, lookups)
            .await
            .map_err(Failure::into_error)
    }

    async fn list(&self, request: &PageRequest) -> StoreResult<Page> {
        let client = self.client().await.map_err(Failure::into_error)?;
        reads::list(&client, request)
            .await
            .map_err(Failure::into_error)
    }

    async fn list_encoded(&self, request: &PageRequest) -> StoreResult<EncodedPage> {
        let page = self.list(request).await?;
        Ok(EncodedPage::encode(
            page,
            request.order,
            self.encoder.as_ref(),
        ))
    }

    async fn create(&self, key: ArticleKey, content: ArticleContent) -> StoreResult<Article> {
        let result = writes::create(&self.pool, &key, &content).await;
        self.write_observers
            .observed(result.map_err(Failure::into_error))
    }

    async fn update(
        &self,
        target: &Lookup,
        patch: &ArticlePatch,
        expected: Option<&Etag>,
    ) -> StoreResult<Article> {
        let result = writes::update(&self.pool, target, patch, expected).await;
        self.write_observers
            .observed(result.map_err(Failure::into_error))
    }

    async fn delete(&self, target: &Lookup, expected: Option<&Etag>) -> StoreResult<Deleted> {
        let result = writes::delete(&self.pool, target, expected).await;
        self.write_observers
            .observed(result.map_err(Failure::into_error))
    }

    async fn upsert_batch(
        &self,
        items: Vec<UpsertItem>,
    ) -> StoreResult<Vec<StoreResult<UpsertOutcome>>> {
        let result = writes::upsert_batch(&self.pool, &items).await;
        self.write_observers
            .observed(result.map_err(Failure::into_error))
    }

    async fn changes_since(&self, after: Revision, limit: usize) -> StoreResult<Vec<Change>> {
        let client = self.client().await.map_err(Failure::into_error)?;
        reads::changes_since(&client, after, limit)
            .await
            .map_err(Failure::into_error)
    }

    async fn current_revision(&self) -> StoreResult<Revision> {
        let client = self.client().await.map_err(Failure::into_error)?;
        reads::current_revision(&client)
            .await
            .map_err(Failure::into_error)
    }

    async fn compact_change_log(&self, retention: Retention) -> StoreResult<Revision> {
        writes::compact_change_log(&self.pool, retention)
            .await
            .map_err(Failure::into_error)
    }

    /// One LISTEN connection per store, whatever the number of watchers.
    fn external_commits(
        &self,
        wake: std::sync::Arc<tokio::sync::Notify>,
    ) -> Option<futures::future::BoxFuture<'static, ()>> {
        Some(Box::pin(listener::listen(
            Settings::clone(&self.settings),
            wake,
        )))
    }

    fn observe_writes(&self, observer: Arc<dyn WriteObserver>) {
        self.write_observers.add(observer);
    }
}
