//! A cache of `get` by id that stays exact across replicas.
//!
//! Other replicas write to the same database, so no write of theirs passes
//! through here. Every cached `get` therefore first learns the database's
//! current revision, from a *check* sent after the call began (a ReadIndex,
//! as in Raft): one statement reads the revision counter, the compaction
//! mark and the ids the change log changed since the revision the cache
//! has caught up with, all from one snapshot; the cache evicts those ids
//! and has then caught up with the counter. Any write acknowledged before
//! the call began committed before the check's snapshot, so its article
//! was evicted and what the cache answers is at least that new.
//!
//! Checks are coalesced and may overlap: a call is served by the first
//! check that *began* after it arrived, whoever sent it, and sends one only
//! if none has begun since it arrived and fewer than `MAX_CHECKS_IN_FLIGHT`
//! are under way. With more than one allowed, a call that arrives just
//! after a check was sent has the next one sent at once rather than after
//! the round trip of the one under way. Under many calls in flight
//! one small round trip serves all that waited for it, all are woken
//! together when it ends, and a hit costs no read of the article.
//!
//! Checks may end in any order (they run on different connections); the
//! cache only moves forward. A check whose snapshot is no newer than what
//! the cache caught up with brings nothing (every change up to that was
//! evicted by the check that got there), so it is dropped; a newer one
//! evicts what changed after the revision it was sent from, which is at
//! most the one caught up with now. Either way, when any check that began
//! after a call arrived has ended, the cache has caught up with that
//! check's snapshot, which is what the call needs.
//!
//! A miss reads the row (pipelined with other reads) and caches it only
//! if no check caught up with anything meanwhile: otherwise the row might
//! predate an eviction that was already applied. A change log compacted
//! past what the cache caught up with, or more than
//! `MAX_CHANGES_PER_CHECK` changes at once, empties the cache.
//!
//! Only lookups by id are cached: a key or a URL can come to name another
//! article without that article changing (a URL lookup answers the most
//! recently published of several), so they always read the database.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use hashlink::LruCache;
use uuid::Uuid;

use super::errors::{Failure, PostgresContext};
use super::rows::stored_id;
use super::shared_reads::SharedReader;
use crate::article::{Article, ArticleId, Revision};
use crate::error::Error;

/// Articles a replica caches unless configured otherwise
/// (`--database-read-cache`): about their size in memory, 1–10 KB each.
pub const DEFAULT_READ_CACHE_ARTICLES: usize = 50_000;

/// Changed ids one check reads at most; beyond that (a large import by
/// another replica) evicting one by one costs more than starting over.
const MAX_CHANGES_PER_CHECK: i64 = 10_000;

/// Checks under way at once. Two would let a call that arrives just after
/// a check was sent have its own sent at once, but cost a third more
/// PostgreSQL work for the checks; in the benchmark (docs/performance.md),
/// where PostgreSQL shares a core with the clients, two gave 0.50 against
/// one's 0.53–0.54, so one it is until PostgreSQL has cores to spare.
const MAX_CHECKS_IN_FLIGHT: usize = 1;

/// The check: the revision counter, the compaction mark, and the articles
/// changed after `$1` (at most `$2`), from one snapshot. Every change-log
/// entry up to the counter is visible in it: an entry commits with the
/// counter increment that gives it its revision, and revisions commit in
/// order.
const CHECK_SQL: &str = "SELECT counter.value, compaction.compacted_through, \
     ARRAY(SELECT c.article_id FROM change_log l JOIN changes c ON c.change_id = l.change_id \
           WHERE l.revision > $1 ORDER BY l.revision LIMIT $2) \
     FROM revision_counter counter, change_log_compaction compaction";

/// What the cache had caught up with when a call's check completed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Token(u64);

/// The cache of one store.
pub(super) struct ReadCache {
    /// Which checks began and how they ended.
    checks: Mutex<CheckRecord>,
    /// Bumped whenever a check ends (or its caller gave up on it), waking
    /// every call waiting at once: their answers then leave together, in
    /// few socket writes, rather than one by one.
    check_ended: tokio::sync::watch::Sender<u64>,
    state: Mutex<CacheState>,
}

/// How the checks went.
#[derive(Default)]
struct CheckRecord {
    /// Checks begun so far: a call that arrives waits for check number
    /// (this + 1) or a later one, which begins after it arrived.
    begun: u64,
    /// The numbers of the checks under way, at most
    /// `MAX_CHECKS_IN_FLIGHT`.
    in_flight: BTreeSet<u64>,
    /// The highest number of a check that succeeded.
    succeeded: u64,
    /// The highest number of a check that failed, and why: the calls that
    /// waited for it fail with it instead of each trying again in turn.
    failed: Option<(u64, Error)>,
}

struct CacheState {
    /// The revision the cache has caught up with: no cached article
    /// misses a change at or below it. `None` until the first check.
    caught_up: Option<Revision>,
    /// Bumped by every check that caught up with anything: a row read
    /// under another value may predate an eviction already applied.
    generation: u64,
    /// Shared with the callers of `get_shared`, so a hit copies nothing.
    articles: LruCache<ArticleId, Arc<Article>>,
}

/// Marks check number `.1` in flight; dropped, even by a caller that gave
/// up (its RPC was cancelled), it lets another check begin and wakes the
/// waiting calls, which begin one if theirs never ended.
struct CheckInFlight<'cache>(&'cache ReadCache, u64);

impl Drop for CheckInFlight<'_> {
    fn drop(&mut self) {
        self.0.record().in_flight.remove(&self.1);
        self.0.check_ended.send_modify(|ended| *ended += 1);
    }
}

impl ReadCache {
    /// A cache of at most `capacity` articles (at least one), least
    /// recently used evicted first.
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            checks: Mutex::new(CheckRecord::default()),
            check_ended: tokio::sync::watch::Sender::new(0),
            state: Mutex::new(CacheState {
                caught_up: None,
                generation: 0,
                articles: LruCache::new(capacity.max(1)),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        // Every change under the lock leaves the state consistent, so a
        // panic elsewhere while holding it leaves nothing half done.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn record(&self) -> std::sync::MutexGuard<'_, CheckRecord> {
        // As for `lock`.
        self.checks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for a check that began after this call did, sending it if
    /// none is under way. Returns the token `remember` wants.
    pub(super) async fn catch_up(&self, client: &SharedReader) -> Result<Token, Error> {
        let needed = self.record().begun + 1;
        loop {
            // Subscribed before looking, so an end in between is not missed.
            let mut ended = self.check_ended.subscribe();
            let begin = {
                let mut record = self.record();
                if record.succeeded >= needed {
                    break;
                }
                if let Some((number, error)) = &record.failed
                    && *number >= needed
                {
                    return Err(error.clone());
                }
                let awaited = record.in_flight.range(needed..).next().is_some();
                if awaited || record.in_flight.len() >= MAX_CHECKS_IN_FLIGHT {
                    None
                } else {
                    record.begun += 1;
                    let number = record.begun;
                    record.in_flight.insert(number);
                    Some(number)
                }
            };
            let Some(number) = begin else {
                // The sender lives as long as `self`: this only waits.
                let _ = ended.changed().await;
                continue;
            };
            let in_flight = CheckInFlight(self, number);
            let outcome = self.check(client).await;
            let failure = {
                let mut record = self.record();
                match outcome {
                    Ok(()) => {
                        record.succeeded = record.succeeded.max(number);
                        None
                    }
                    Err(failure) => {
                        let error = failure.into_error();
                        if record
                            .failed
                            .as_ref()
                            .is_none_or(|(last, _)| *last < number)
                        {
                            record.failed = Some((number, error.clone()));
                        }
                        Some(error)
                    }
                }
            };
            drop(in_flight);
            if let Some(error) = failure {
                return Err(error);
            }
            break;
        }
        Ok(Token(self.lock().generation))
    }

    /// One check: reads what changed since the revision caught up with and,
    /// unless the cache has meanwhile caught up with as much from another
    /// check, evicts it.
    async fn check(&self, client: &SharedReader) -> Result<(), Failure> {
        let doing = "checking the read cache against the change log";
        let after = self.lock().caught_up;
        let statement = client.prepare_cached(CHECK_SQL).await.context(doing)?;
        // Before the first check the cache is empty: nothing to evict.
        let after_revision = after.map_or(i64::MAX, |revision| revision.0);
        let row = client
            .query_one(&statement, &[&after_revision, &(MAX_CHANGES_PER_CHECK + 1)])
            .await
            .context(doing)?;
        let current = Revision(row.try_get(0).context(doing)?);
        let compacted_through = Revision(row.try_get(1).context(doing)?);
        let changed: Vec<Uuid> = row.try_get(2).context(doing)?;
        let changed = changed
            .into_iter()
            .map(stored_id)
            .collect::<Result<Vec<_>, _>>()?;
        let mut state = self.lock();
        // The counter never goes down unless the database was replaced.
        let replaced = after.is_some_and(|after| current < after);
        if !replaced
            && state
                .caught_up
                .is_some_and(|caught_up| current <= caught_up)
        {
            return Ok(());
        }
        let evict_all = match after {
            None => true,
            Some(after) => {
                replaced
                    || compacted_through > after
                    || changed.len() > MAX_CHANGES_PER_CHECK as usize
            }
        };
        if evict_all {
            state.articles.clear();
        } else {
            for id in &changed {
                state.articles.remove(id);
            }
        }
        state.caught_up = Some(current);
        state.generation += 1;
        Ok(())
    }

    /// The cached article `id`. Only valid after `catch_up` in this call.
    pub(super) fn cached(&self, id: ArticleId) -> Option<Arc<Article>> {
        self.lock().articles.get(&id).cloned()
    }

    /// Caches `article`, read after `catch_up` returned `token`, unless a
    /// check caught up with anything since: the row might then predate a
    /// change whose eviction was already applied.
    pub(super) fn remember(&self, token: Token, article: &Arc<Article>) {
        let mut state = self.lock();
        if state.generation == token.0 {
            state.articles.insert(article.id, article.clone());
        }
    }
}
