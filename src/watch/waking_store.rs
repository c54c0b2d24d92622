//! A `Store` wrapper that wakes the change feed's hub after every write
//! through this process, so a local change reaches watchers without
//! waiting for a poll.

use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;
use tokio::sync::Notify;

use crate::article::{Article, ArticleContent, ArticleKey, ArticlePatch, Etag, Lookup, Revision};
use crate::query::{Page, PageRequest};
use crate::store::{Change, Deleted, Retention, Store, StoreResult, UpsertItem, UpsertOutcome};
use crate::wire::EncodedPage;

/// `inner`, waking `wake` after each write (whatever its outcome: a failed
/// write may still have committed, and a needless read is cheap).
pub struct WakingStore {
    inner: Arc<dyn Store>,
    wake: Arc<Notify>,
}

impl WakingStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>, wake: Arc<Notify>) -> Self {
        Self { inner, wake }
    }

    fn woken<T>(&self, result: T) -> T {
        self.wake.notify_one();
        result
    }
}

#[async_trait]
impl Store for WakingStore {
    async fn get(&self, lookup: &Lookup) -> StoreResult<Option<Article>> {
        self.inner.get(lookup).await
    }

    async fn get_shared(&self, lookup: &Lookup) -> StoreResult<Option<Arc<Article>>> {
        self.inner.get_shared(lookup).await
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
        self.woken(result)
    }

    async fn update(
        &self,
        target: &Lookup,
        patch: &ArticlePatch,
        expected: Option<&Etag>,
    ) -> StoreResult<Article> {
        let result = self.inner.update(target, patch, expected).await;
        self.woken(result)
    }

    async fn delete(&self, target: &Lookup, expected: Option<&Etag>) -> StoreResult<Deleted> {
        let result = self.inner.delete(target, expected).await;
        self.woken(result)
    }

    async fn upsert_batch(
        &self,
        items: Vec<UpsertItem>,
    ) -> StoreResult<Vec<StoreResult<UpsertOutcome>>> {
        let result = self.inner.upsert_batch(items).await;
        self.woken(result)
    }

    async fn changes_since(&self, after: Revision, limit: usize) -> StoreResult<Vec<Change>> {
        self.inner.changes_since(after, limit).await
    }

    async fn current_revision(&self) -> StoreResult<Revision> {
        self.inner.current_revision().await
    }

    async fn compact_change_log(&self, retention: Retention) -> StoreResult<Revision> {
        self.inner.compact_change_log(retention).await
    }

    fn external_commits(&self, wake: Arc<Notify>) -> Option<BoxFuture<'static, ()>> {
        self.inner.external_commits(wake)
    }
}
