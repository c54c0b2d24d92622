//! A read-through cache of single-article lookups, for a database whose
//! every write passes through this process (the embedded store).
//!
//! Hot articles are then served from memory without a hop to a blocking
//! thread. Correctness rests on a write generation: every write bumps it and
//! empties the cache after the write returned from the writer thread (the
//! cache is the store's first `WriteObserver`), and a reader caches what it
//! read only if no write happened since it started reading. So a cached
//! article is never older than the last write acknowledged before the read
//! began.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::article::{Article, Lookup};
use crate::store::WriteObserver;

/// Articles kept at most by default; when full, the cache starts over.
pub const DEFAULT_READ_CACHE_ARTICLES: usize = 50_000;

/// Articles by id, key and URL, forgotten at every write.
pub(super) struct ReadCache {
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

/// What a lookup found in the cache.
pub(super) enum Cached {
    Hit(Arc<Article>),
    /// Not cached; a read begun now may be remembered with this generation.
    Miss(u64),
}

impl ReadCache {
    /// Keeps up to `capacity` lookups.
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            state: Mutex::new(CacheState::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, CacheState> {
        // A panic while holding the lock leaves a map that is still valid.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn cached(&self, lookup: &Lookup) -> Cached {
        let state = self.lock();
        match state.articles.get(lookup) {
            Some(article) => Cached::Hit(Arc::clone(article)),
            None => Cached::Miss(state.generation),
        }
    }

    /// Keeps what a read begun at `generation` found, unless a write
    /// happened since.
    pub(super) fn remember(&self, generation: u64, lookup: &Lookup, article: &Arc<Article>) {
        let mut state = self.lock();
        if state.generation != generation {
            return;
        }
        if state.articles.len() >= self.capacity {
            state.articles.clear();
        }
        state.articles.insert(lookup.clone(), Arc::clone(article));
    }
}

/// Called after every write, whatever its outcome: a failed write may
/// still have committed (outcome unknown), so forgetting is always safe.
/// Compaction removes change-log entries only, which the cache never holds.
impl WriteObserver for ReadCache {
    fn after_write(&self) {
        let mut state = self.lock();
        state.generation += 1;
        state.articles.clear();
    }
}
