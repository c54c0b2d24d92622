//! A read-through cache of single-article lookups in front of a store whose
//! every write passes through this process (the embedded SQLite store).
//!
//! Hot articles are then served from memory without a hop to a blocking
//! thread. Correctness rests on a write generation: every write bumps it and
//! empties the cache after the inner store committed, and a reader caches
//! what it read only if no write happened since it started reading. So a
//! cached article is never older than the last write acknowledged before
//! the read began.
//!
//! Not for stores shared by several processes (PostgreSQL replicas): their
//! writes do not pass through here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::article::{Article, ArticleContent, ArticleKey, ArticlePatch, Etag, Lookup, Revision};
use crate::query::{Page, PageRequest};
use crate::store::{Change, Deleted, Retention, Store, StoreResult, UpsertItem, UpsertOutcome};
use crate::wire::EncodedPage;

/// Articles kept at most; when full, the cache starts over.
pub const DEFAULT_CAPACITY: usize = 50_000;

/// A `Store` wrapper caching `get` by id, key and URL.
pub struct CachingStore<S> {
    inner: S,
    capacity: usize,
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    /// Bumped by every write; a read that saw another value is not cached.
    generation: u64,
    /// Shared with the callers of `get_shared`, so a hit copies nothing.
    articles: HashMap<Lookup, Arc<Article>>,
}

impl<S: Store> CachingStore<S> {
    /// Caches up to `capacity` lookups in front of `inner`.
    pub fn new(inner: S, capacity: usize) -> Self {
        Self {
            inner,
            capacity,
            state: Mutex::new(CacheState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        // A panic while holding the lock leaves a map that is still valid.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cached(&self, lookup: &Lookup) -> Result<Arc<Article>, u64> {
        let state = self.lock();
        state.articles.get(lookup).cloned().ok_or(state.generation)
    }

    fn remember(&self, generation: u64, lookup: &Lookup, article: &Arc<Article>) {
        let mut state = self.lock();
        if state.generation != generation {
            return;
        }
        if state.articles.len() >= self.capacity {
            state.articles.clear();
        }
        state.articles.insert(lookup.clone(), article.clone());
    }

    /// Called after every write, whatever its outcome: a failed write may
    /// still have committed (outcome unknown), so forgetting is always safe.
    fn forget_all(&self) {
        let mut state = self.lock();
        state.generation += 1;
        state.articles.clear();
    }
}

#[async_trait]
impl<S: Store> Store for CachingStore<S> {
    async fn get(&self, lookup: &Lookup) -> StoreResult<Option<Article>> {
        Ok(self.get_shared(lookup).await?.map(Arc::unwrap_or_clone))
    }

    async fn get_shared(&self, lookup: &Lookup) -> StoreResult<Option<Arc<Article>>> {
        let generation = match self.cached(lookup) {
            Ok(article) => return Ok(Some(article)),
            Err(generation) => generation,
        };
        let article = self.inner.get(lookup).await?.map(Arc::new);
        if let Some(article) = &article {
            self.remember(generation, lookup, article);
        }
        Ok(article)
    }

    async fn get_many(&self, lookups: &[Lookup]) -> StoreResult<Vec<Option<Article>>> {
        self.inner.get_many(lookups).await
    }

    async fn list(&self, request: &PageRequest) -> StoreResult<Page> {
        self.inner.list(request).await
    }

    async fn list_encoded(&self, request: &PageRequest) -> StoreResult<EncodedPage> {
        self.inner.list_encoded(request).await
    }

    async fn create(&self, key: ArticleKey, content: ArticleContent) -> StoreResult<Article> {
        let result = self.inner.create(key, content).await;
        self.forget_all();
        result
    }

    async fn update(
        &self,
        target: &Lookup,
        patch: &ArticlePatch,
        expected: Option<&Etag>,
    ) -> StoreResult<Article> {
        let result = self.inner.update(target, patch, expected).await;
        self.forget_all();
        result
    }

    async fn delete(&self, target: &Lookup, expected: Option<&Etag>) -> StoreResult<Deleted> {
        let result = self.inner.delete(target, expected).await;
        self.forget_all();
        result
    }

    async fn upsert_batch(
        &self,
        items: Vec<UpsertItem>,
    ) -> StoreResult<Vec<StoreResult<UpsertOutcome>>> {
        let result = self.inner.upsert_batch(items).await;
        self.forget_all();
        result
    }

    async fn changes_since(&self, after: Revision, limit: usize) -> StoreResult<Vec<Change>> {
        self.inner.changes_since(after, limit).await
    }

    async fn current_revision(&self) -> StoreResult<Revision> {
        self.inner.current_revision().await
    }

    /// Compaction removes change-log entries only, which the cache never
    /// holds.
    async fn compact_change_log(&self, retention: Retention) -> StoreResult<Revision> {
        self.inner.compact_change_log(retention).await
    }

    fn external_commits(
        &self,
        wake: std::sync::Arc<tokio::sync::Notify>,
    ) -> Option<futures::future::BoxFuture<'static, ()>> {
        self.inner.external_commits(wake)
    }
}
