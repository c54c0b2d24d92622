//! One watch: snapshot (optional), catch-up from the change log, then live
//! changes from the hub, each change considered once and in order.
//!
//! `considered` is the revision through which every change has been looked
//! at (and sent if it matched). It only grows, one revision at a time, so
//! no change is sent twice and none is skipped:
//! 1. catch up: read the log after `considered` until it has no more;
//! 2. subscribe to the hub: every change it broadcasts from now on
//!    arrives;
//! 3. catch up again: what was committed between 1 and 2 (the hub
//!    broadcasts only what it has read, so anything broadcast before the
//!    subscription is in the log by now);
//! 4. follow the hub, skipping what step 3 already covered, and reading
//!    the log for any gap (none is expected: revisions are gapless).
//!
//! Its buffer is its place in the hub's bounded broadcast: if the client
//! reads too slowly, the hub's changes pile up there until the oldest are
//! overwritten; the watch then ends with `Error::WatcherTooSlow` naming
//! `considered`, from which a new watch resumes with nothing missed.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc};
use tokio::time::{Instant, MissedTickBehavior};

use super::filter::{FilterTransition, classify};
use super::{Feed, FeedChange, WatchItem};
use crate::article::{Article, Revision};
use crate::error::Error;
use crate::query::{ArticleQuery, Order, PageRequest, PageSize};

/// Events queued between a watcher and its gRPC stream.
pub(super) const OUTBOX_CAPACITY: usize = 16;
/// Changes read per catch-up query.
const CATCH_UP_BATCH: usize = 256;
/// Articles read per snapshot query.
const SNAPSHOT_BATCH: i32 = 500;

/// What a watch asks for.
#[derive(Debug, Clone)]
pub struct WatchRequest {
    pub filter: ArticleQuery,
    pub start: WatchStart,
    /// `None`: the feed's default.
    pub progress_interval: Option<Duration>,
}

/// Where a watch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchStart {
    /// Changes committed after the watch starts.
    Now,
    /// Changes after this revision.
    After(Revision),
    /// Every matching article, then a marker, then the changes after it.
    Snapshot,
}

/// One event of a watch.
#[derive(Debug, Clone)]
pub enum WatchEvent {
    /// A committed change that concerns the watch. Shared with every other
    /// watcher that receives it.
    Change {
        change: Arc<FeedChange>,
        transition: FilterTransition,
    },
    /// An article of the snapshot (boxed: an article is large, a marker is
    /// not).
    Initial(Box<Article>),
    /// The snapshot is complete as of this revision.
    InitialDone(Revision),
    /// Every change through this revision has been considered.
    Progress(Revision),
}

/// Why a watch stopped.
enum Stop {
    /// The client went away, or the feed is closing: just end.
    Ended,
    /// End the stream with this error.
    Failed(Error),
}

impl From<Error> for Stop {
    fn from(error: Error) -> Self {
        Stop::Failed(error)
    }
}

/// A watch in progress.
pub(super) struct Watcher {
    feed: Feed,
    request: WatchRequest,
    considered: Revision,
    /// Whether an event was sent since the last progress tick.
    sent_recently: bool,
}

impl Watcher {
    pub(super) fn new(feed: Feed, request: WatchRequest) -> Self {
        Self {
            feed,
            request,
            considered: Revision(0),
            sent_recently: false,
        }
    }

    /// Sends events into `outbox` until the client leaves, the feed closes
    /// or an error ends the watch (sent last).
    pub(super) async fn run(mut self, outbox: mpsc::Sender<WatchItem>) {
        if let Err(Stop::Failed(error)) = self.deliver(&outbox).await {
            let closing = self.feed.shared.closing.clone();
            tokio::select! {
                _ = outbox.send(Err(error)) => {}
                () = closing.cancelled() => {}
            }
        }
    }

    async fn deliver(&mut self, outbox: &mpsc::Sender<WatchItem>) -> Result<(), Stop> {
        let store = self.feed.store();
        let current = self.until_gone(outbox, store.current_revision()).await??;
        self.considered = match self.request.start {
            WatchStart::Now => current,
            WatchStart::After(revision) if revision > current => {
                return Err(Stop::Failed(Error::invalid(
                    "start_revision",
                    format!(
                        "{} is ahead of the newest revision, {}",
                        revision.0, current.0
                    ),
                )));
            }
            WatchStart::After(revision) => revision,
            WatchStart::Snapshot => self.send_snapshot(outbox, current).await?,
        };
        self.catch_up(outbox, None).await?;
        let changes = self.feed.subscribe();
        self.catch_up(outbox, None).await?;
        self.follow(outbox, changes).await
    }

    /// Sends every matching article whose last change is at or before
    /// `snapshot`, then the marker; returns `snapshot`. An article changed
    /// after `snapshot` is left out: its change follows as an event.
    async fn send_snapshot(
        &mut self,
        outbox: &mpsc::Sender<WatchItem>,
        snapshot: Revision,
    ) -> Result<Revision, Stop> {
        let store = self.feed.store();
        let mut page = PageRequest {
            query: self.request.filter.clone(),
            order: Order::default(),
            size: PageSize::parse(SNAPSHOT_BATCH)?,
            after: None,
        };
        loop {
            let articles = self.until_gone(outbox, store.list(&page)).await??;
            for article in articles.articles {
                if article.revision <= snapshot {
                    self.send(outbox, WatchEvent::Initial(Box::new(article)))
                        .await?;
                }
            }
            match articles.next {
                Some(next) => page.after = Some(next),
                None => break,
            }
        }
        self.send(outbox, WatchEvent::InitialDone(snapshot)).await?;
        Ok(snapshot)
    }

    /// Considers the logged changes after `considered`: all of them
    /// (`through` = `None`), or up to `through`.
    async fn catch_up(
        &mut self,
        outbox: &mpsc::Sender<WatchItem>,
        through: Option<Revision>,
    ) -> Result<(), Stop> {
        let store = self.feed.store();
        loop {
            if through.is_some_and(|through| self.considered >= through) {
                return Ok(());
            }
            let batch = self
                .until_gone(outbox, store.changes_since(self.considered, CATCH_UP_BATCH))
                .await??;
            let complete = batch.len() < CATCH_UP_BATCH;
            for change in batch {
                if through.is_some_and(|through| change.revision > through) {
                    return Ok(());
                }
                self.consider(outbox, Arc::new(FeedChange::new(change)))
                    .await?;
            }
            if complete {
                return Ok(());
            }
        }
    }

    /// Follows the hub until the watch ends.
    async fn follow(
        &mut self,
        outbox: &mpsc::Sender<WatchItem>,
        mut changes: broadcast::Receiver<Arc<FeedChange>>,
    ) -> Result<(), Stop> {
        let period = self
            .request
            .progress_interval
            .unwrap_or(self.feed.options().progress_interval);
        let mut progress = tokio::time::interval_at(Instant::now() + period, period);
        progress.set_missed_tick_behavior(MissedTickBehavior::Delay);
        self.sent_recently = false;
        let closing = self.feed.shared.closing.clone();
        loop {
            tokio::select! {
                received = changes.recv() => match received {
                    Ok(change) => {
                        if change.revision.0 > self.considered.0 + 1 {
                            self.catch_up(outbox, Some(Revision(change.revision.0 - 1))).await?;
                        }
                        self.consider(outbox, change).await?;
                    }
                    Err(RecvError::Lagged(_)) => {
                        return Err(Stop::Failed(Error::WatcherTooSlow {
                            last_revision: self.considered.0,
                            buffer: self.feed.options().watcher_buffer,
                        }));
                    }
                    Err(RecvError::Closed) => return Err(Stop::Ended),
                },
                _ = progress.tick() => {
                    if !self.sent_recently {
                        self.send(outbox, WatchEvent::Progress(self.considered)).await?;
                    }
                    self.sent_recently = false;
                }
                () = outbox.closed() => return Err(Stop::Ended),
                () = closing.cancelled() => return Err(Stop::Ended),
            }
        }
    }

    /// Sends `change` if it concerns the watch and is new to it.
    async fn consider(
        &mut self,
        outbox: &mpsc::Sender<WatchItem>,
        change: Arc<FeedChange>,
    ) -> Result<(), Stop> {
        if change.revision <= self.considered {
            return Ok(());
        }
        if let Some(transition) = classify(&self.request.filter, &change) {
            let revision = change.revision;
            self.send(outbox, WatchEvent::Change { change, transition })
                .await?;
            self.considered = revision;
        } else {
            self.considered = change.revision;
        }
        Ok(())
    }

    /// Sends one event, waiting for room; ends if the client left or the
    /// feed closes meanwhile.
    async fn send(
        &mut self,
        outbox: &mpsc::Sender<WatchItem>,
        event: WatchEvent,
    ) -> Result<(), Stop> {
        let closing = self.feed.shared.closing.clone();
        tokio::select! {
            sent = outbox.send(Ok(event)) => sent.map_err(|_| Stop::Ended)?,
            () = closing.cancelled() => return Err(Stop::Ended),
        }
        self.sent_recently = true;
        Ok(())
    }

    /// Awaits `work` unless the client leaves or the feed closes first.
    async fn until_gone<T>(
        &self,
        outbox: &mpsc::Sender<WatchItem>,
        work: impl Future<Output = T>,
    ) -> Result<T, Stop> {
        let closing = self.feed.shared.closing.clone();
        tokio::select! {
            value = work => Ok(value),
            () = outbox.closed() => Err(Stop::Ended),
            () = closing.cancelled() => Err(Stop::Ended),
        }
    }
}
