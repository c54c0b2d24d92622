//! The storage contract every backend fulfils, and the backends.
//!
//! The contract, which `tests/store_contract.rs` checks against every
//! implementation:
//! - Every committed write (create, update, delete, and each created or
//!   updated import item) gets the next revision, strictly increasing in
//!   commit order, and appends one entry to the change log in the same
//!   transaction. An unchanged import item writes nothing and takes no
//!   revision.
//! - A write is acknowledged only once committed durably; an error means
//!   nothing of it was stored, except `Error::OutcomeUnknown`.
//! - Keys are unique; ids are assigned by the store and never reused.
//! - Lookups by URL match any of an article's four URLs; the most recently
//!   published one wins, ties broken by the greater id.
//! - `list` returns the rows strictly after the cursor in the page's total
//!   order (sort value, then id, both in the order's direction), filtered
//!   exactly as `ArticleQuery::matches` says.
//! - Stores never block the async runtime's threads.
//! - The change log keeps every entry above its compaction mark
//!   (`compact_change_log`); `changes_since(after)` with `after` below the
//!   mark fails with `Error::RevisionCompacted` naming the mark, never
//!   returns a log with a hole. `current_revision` never goes down, even
//!   when every entry was compacted away.
//! - An update's change-log entry also keeps the content before the update
//!   (`Change::before`), so a filtered watch knows whether the article
//!   entered or left its filter.
//! - Every write through a store (create, update, delete, import batch)
//!   tells the store's write observers (`observe_writes`) before it
//!   returns, whatever its outcome: the one hook the SQLite read cache and
//!   the change feed's wake-up use, so nothing wraps a store.

mod columns;
pub mod encoded;
pub mod postgres;
pub mod sqlite;
mod stored_state;
mod write_observers;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use tokio::sync::Notify;

pub use self::encoded::{ArticleEncoder, EncodedArticle, EncodedPage};
use crate::article::{
    Article, ArticleContent, ArticleId, ArticleKey, ArticlePatch, Etag, Lookup, Revision,
};
use crate::error::Error;
use crate::query::{Page, PageRequest};
pub use write_observers::WriteObserver;

/// The result type of every store operation.
pub type StoreResult<T> = Result<T, Error>;

/// One item of an import batch.
#[derive(Debug, Clone)]
pub struct UpsertItem {
    pub key: ArticleKey,
    pub content: ArticleContent,
}

/// What an upsert did to one item.
#[derive(Debug, Clone, PartialEq)]
pub enum UpsertOutcome {
    Created(Article),
    Updated(Article),
    /// Identical to what was stored: nothing written, no revision taken.
    Unchanged(Article),
}

/// What a delete removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    pub id: ArticleId,
    pub key: ArticleKey,
    /// The revision of the delete itself.
    pub revision: Revision,
}

/// The kind of a change-log entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Created,
    Updated,
    Deleted,
}

/// One entry of the change log.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub revision: Revision,
    pub kind: ChangeKind,
    pub commit_time: DateTime<Utc>,
    pub id: ArticleId,
    pub key: ArticleKey,
    /// The article after the change; for deletes, as it was before.
    pub article: Article,
    /// For an update, the content before it, without its body (`body` is
    /// empty): what filters need to tell whether the article matched.
    /// `None` for creates and deletes.
    pub before: Option<ArticleContent>,
}

/// How much of the change log to keep. An entry is removed once it is
/// older than `max_age` or not among the newest `max_entries`; `None`
/// leaves that bound unset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    pub max_age: Option<Duration>,
    pub max_entries: Option<u64>,
}

/// A place articles are kept. See the module documentation for the contract.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// One article, or `None`.
    async fn get(&self, lookup: &Lookup) -> StoreResult<Option<Article>>;

    /// The same as `get`, the article shared instead of copied: a store
    /// that keeps articles in memory (the read cache) hands out its own,
    /// which spares GetArticle a deep copy per call.
    async fn get_shared(&self, lookup: &Lookup) -> StoreResult<Option<Arc<Article>>> {
        Ok(self.get(lookup).await?.map(Arc::new))
    }

    /// Many articles, in the order asked, `None` where missing.
    async fn get_many(&self, lookups: &[Lookup]) -> StoreResult<Vec<Option<Article>>>;

    /// One page of the articles matching a query.
    async fn list(&self, request: &PageRequest) -> StoreResult<Page>;

    /// The same page as `list`, each article as the store's
    /// `ArticleEncoder` encodes it: what StreamArticles sends. A store
    /// that keeps the encoding beside each row reads it (which spares a
    /// stream the parse and the encoding), and keeps it current: written
    /// with every write, re-encoded at open if the encoder changed. Any
    /// other encodes what `list` returns (`EncodedPage::encode`).
    async fn list_encoded(&self, request: &PageRequest) -> StoreResult<EncodedPage>;

    /// Stores a new article under a fresh id. `Error::AlreadyExists` if the
    /// key is taken.
    async fn create(&self, key: ArticleKey, content: ArticleContent) -> StoreResult<Article>;

    /// Applies `patch` to the article `target` (an id or key) atomically.
    /// `Error::NotFound` if it does not exist, `Error::EtagMismatch` if
    /// `expected` is given and differs, `Error::AlreadyExists` if the patch
    /// renames it to a taken key. A patch that changes nothing writes
    /// nothing and returns the article as it is.
    async fn update(
        &self,
        target: &Lookup,
        patch: &ArticlePatch,
        expected: Option<&Etag>,
    ) -> StoreResult<Article>;

    /// Deletes the article `target` (an id or key), with the same
    /// precondition as `update`.
    async fn delete(&self, target: &Lookup, expected: Option<&Etag>) -> StoreResult<Deleted>;

    /// Creates or replaces each item by key, in order, all in one durable
    /// commit. Each item succeeds or fails alone: a failed item is reported
    /// in its slot and leaves nothing behind.
    async fn upsert_batch(
        &self,
        items: Vec<UpsertItem>,
    ) -> StoreResult<Vec<StoreResult<UpsertOutcome>>>;

    /// Change-log entries with a revision above `after`, oldest first, at
    /// most `limit`. `Error::RevisionCompacted` if entries above `after`
    /// were compacted away.
    async fn changes_since(&self, after: Revision, limit: usize) -> StoreResult<Vec<Change>>;

    /// The highest committed revision (0 for an empty store).
    async fn current_revision(&self) -> StoreResult<Revision>;

    /// Removes the change-log entries `retention` no longer keeps and
    /// returns the compaction mark: every entry above it is kept, and
    /// `changes_since` works for any `after` at or above it. The mark never
    /// goes down.
    async fn compact_change_log(&self, retention: Retention) -> StoreResult<Revision>;

    /// A future that wakes `wake` whenever another process may have
    /// appended to the change log, running until dropped; `None` (the
    /// default) when every write passes through this process.
    fn external_commits(&self, wake: Arc<Notify>) -> Option<BoxFuture<'static, ()>> {
        let _ = wake;
        None
    }

    /// Tells `observer` of every later write through this store, after
    /// the write and before it returns, whatever its outcome. How the
    /// change feed's hub hears of local writes at once.
    fn observe_writes(&self, observer: Arc<dyn WriteObserver>);
}

/// The embedded store as `serve` runs it: SQLite at `path` with its read
/// cache (every write to that file passes through this process), its
/// encodings made by `encoder` (production: `wire::article_encoder()`).
pub fn open_embedded(path: &Path, encoder: Arc<dyn ArticleEncoder>) -> StoreResult<Arc<dyn Store>> {
    let store = sqlite::SqliteStore::open(path, encoder)?;
    Ok(Arc::new(
        store.with_read_cache(sqlite::DEFAULT_READ_CACHE_ARTICLES),
    ))
}
