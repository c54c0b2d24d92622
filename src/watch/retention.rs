//! Compacts the change log at an interval, as the retention says.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::{Retention, Store};

/// Runs until `closing` is cancelled; does nothing without a retention.
pub(super) async fn run(
    store: Arc<dyn Store>,
    retention: Retention,
    interval: Duration,
    closing: CancellationToken,
) {
    if retention.max_age.is_none() && retention.max_entries.is_none() {
        return;
    }
    loop {
        match store.compact_change_log(retention).await {
            Ok(mark) => tracing::debug!(compacted_through = mark.0, "compacted the change log"),
            Err(error) => tracing::warn!(%error, "compacting the change log failed; will retry"),
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = closing.cancelled() => return,
        }
    }
}
