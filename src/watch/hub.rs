//! The one change-log reader of a process.
//!
//! It sleeps until woken (a local write, another replica's commit, or the
//! poll timer), then reads every change after its position and broadcasts
//! each, in revision order. Wake-ups coalesce: `Notify` keeps one permit,
//! and one read takes everything committed so far, so a burst of writes
//! costs one read, and a wake-up that arrives during a read is not lost.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

use super::FeedChange;
use crate::article::Revision;
use crate::error::Error;
use crate::store::Store;

/// Changes read per query.
const READ_BATCH: usize = 512;

/// Runs until `closing` is cancelled.
pub(super) async fn run(
    store: Arc<dyn Store>,
    changes: broadcast::Sender<Arc<FeedChange>>,
    wake: Arc<Notify>,
    poll_interval: Duration,
    closing: CancellationToken,
) {
    let external = store.external_commits(Arc::clone(&wake));
    let external = async move {
        match external {
            Some(listener) => listener.await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(external);
    let mut position = None;
    loop {
        position = read_new(store.as_ref(), &changes, position).await;
        // What the broadcast still holds is what its slowest watcher has
        // not taken yet.
        metrics::gauge!(crate::metrics::CONSUMER_LAG).set(changes.len() as f64);
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(poll_interval) => {}
            () = &mut external => {}
            () = closing.cancelled() => return,
        }
    }
}

/// Broadcasts every change after `position` (`None`: not known yet, so
/// start at the current revision) and returns the new position.
async fn read_new(
    store: &dyn Store,
    changes: &broadcast::Sender<Arc<FeedChange>>,
    position: Option<Revision>,
) -> Option<Revision> {
    let mut position = match position {
        Some(position) => position,
        None => match store.current_revision().await {
            Ok(current) => current,
            Err(error) => {
                tracing::warn!(%error, "the change feed cannot read the current revision");
                return None;
            }
        },
    };
    loop {
        match store.changes_since(position, READ_BATCH).await {
            Ok(batch) => {
                let complete = batch.len() < READ_BATCH;
                for change in batch {
                    position = change.revision;
                    // No watcher at all is not an error.
                    let _ = changes.send(Arc::new(FeedChange::new(change)));
                }
                if complete {
                    return Some(position);
                }
            }
            // The feed fell behind the retention (a long outage): skip to
            // what is kept. Watchers see the gap, read the log themselves
            // and end with the same error, which tells them where to resume.
            Err(Error::RevisionCompacted { oldest, .. }) => {
                tracing::warn!(
                    oldest,
                    "the change feed fell behind the change log's retention"
                );
                position = Revision(oldest);
            }
            Err(error) => {
                tracing::warn!(%error, "the change feed cannot read the change log; retrying");
                return Some(position);
            }
        }
    }
}
