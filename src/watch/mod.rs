//! The change feed: one reader of the change log per process, fanning each
//! committed change out to every watcher.
//!
//! - `hub`: the one task that reads `Store::changes_since` whenever it is
//!   woken — by a write through this process (`Store::observe_writes`), by another
//!   replica's commit (`Store::external_commits`: PostgreSQL LISTEN/NOTIFY)
//!   or by a timer (the safety net) — and broadcasts each change once, as a
//!   shared `Arc<FeedChange>`.
//! - `feed_change`: that shared change, with room for its one encoding for
//!   the wire, made by the first watcher that sends it.
//! - `watcher`: one watch. It catches up from the change log, subscribes to
//!   the hub, closes the seam with a second read, then follows the hub,
//!   filtering each change itself. Its place in the hub's bounded broadcast
//!   is its buffer: a watcher that falls further behind is ended with a
//!   resumable error; writers and other watchers never wait for it.
//! - `filter`: whether a change concerns a filtered watch, and whether it
//!   made the article enter or leave the filter.
//! - `retention`: periodic compaction of the change log.
//!
//! The change log stays the source of truth: the broadcast is only a fast
//! path, and a watcher that sees a gap in it reads the log.

mod feed_change;
mod filter;
mod hub;
mod retention;
mod watcher;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::store::{Retention, Store, WriteObserver};

pub use feed_change::FeedChange;
pub use filter::FilterTransition;
pub use watcher::{WatchEvent, WatchRequest, WatchStart};

/// Everything a watcher's stream may carry.
pub type WatchItem = Result<WatchEvent, crate::error::Error>;

/// How the feed runs. The caller builds it from its configuration
/// (`watch.*` and `change_log.*`, README "Configuration").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedOptions {
    /// An idle watch gets a progress event after this long without events.
    pub progress_interval: Duration,
    /// Changes a watcher may fall behind the feed before it is ended.
    pub watcher_buffer: usize,
    /// The hub reads the change log at least this often, even unwoken.
    pub poll_interval: Duration,
    /// What the change log keeps.
    pub retention: Retention,
    /// How often the change log is compacted.
    pub compaction_interval: Duration,
}

/// A handle on the running feed; cheap to clone.
#[derive(Clone)]
pub struct Feed {
    shared: Arc<Shared>,
}

struct Shared {
    /// The store as served: every write through it wakes the hub.
    store: Arc<dyn Store>,
    changes: broadcast::Sender<Arc<FeedChange>>,
    options: FeedOptions,
    /// Cancelled by `close`: ends the hub, the compactor and every watch.
    closing: CancellationToken,
}

impl Feed {
    /// Starts the hub and the compactor over `store`; from now on every
    /// write through `store` wakes the hub at once.
    pub fn start(store: Arc<dyn Store>, options: FeedOptions) -> Self {
        let wake = Arc::new(Notify::new());
        let (changes, _) = broadcast::channel(options.watcher_buffer.max(1));
        let closing = CancellationToken::new();
        tokio::spawn(hub::run(
            Arc::clone(&store),
            changes.clone(),
            Arc::clone(&wake),
            options.poll_interval,
            closing.clone(),
        ));
        tokio::spawn(retention::run(
            Arc::clone(&store),
            options.retention,
            options.compaction_interval,
            closing.clone(),
        ));
        store.observe_writes(wake as Arc<dyn WriteObserver>);
        Self {
            shared: Arc::new(Shared {
                store,
                changes,
                options,
                closing,
            }),
        }
    }

    /// The store to serve reads and writes through.
    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.shared.store)
    }

    /// How the feed runs.
    pub fn options(&self) -> &FeedOptions {
        &self.shared.options
    }

    /// Starts a watch; its events (or the error that ended it) arrive on
    /// the receiver, which ends when the watch does.
    pub fn watch(&self, request: WatchRequest) -> mpsc::Receiver<WatchItem> {
        let (outbox, events) = mpsc::channel(watcher::OUTBOX_CAPACITY);
        tokio::spawn(watcher::Watcher::new(self.clone(), request).run(outbox));
        events
    }

    /// Stops the hub and the compactor and ends every watch (their streams
    /// then end; see `api::watch`). For shutdown.
    pub fn close(&self) {
        self.shared.closing.cancel();
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<FeedChange>> {
        self.shared.changes.subscribe()
    }
}
