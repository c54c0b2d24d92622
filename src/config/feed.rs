//! `[watch]` (the change feed's watchers) and `[change_log]` (what the
//! change log keeps). Durations are written `500ms`, `10s`, `5m`, `7d`.

use std::ops::RangeInclusive;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration::{self, MIN_INTERVAL};

/// Allowed `watch.buffer` (`--watch-buffer`): at least one import batch
/// (1,024 changes, which arrive at once; `server.rs` checks this against
/// `api::MAX_IMPORT_BATCH`).
pub const WATCH_BUFFER_RANGE: RangeInclusive<u32> = 1024..=1_000_000;

/// Watch streams of the change feed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatchConfig {
    /// An idle watch receives a progress event after this long without
    /// events; a request may ask for its own (`--watch-progress-interval`,
    /// `NEWSWIRE_WATCH_PROGRESS_INTERVAL`). Default `10s`.
    #[serde(with = "duration::text")]
    pub progress_interval: Duration,
    /// Changes a watcher may fall behind the feed before its watch is
    /// ended with RESOURCE_EXHAUSTED, resumable from its last revision
    /// (`--watch-buffer`, `NEWSWIRE_WATCH_BUFFER`). Default 4,096.
    pub buffer: u32,
    /// The feed reads the change log at least this often, even when no
    /// commit woke it (`--watch-poll-interval`,
    /// `NEWSWIRE_WATCH_POLL_INTERVAL`). Default `1s`.
    #[serde(with = "duration::text")]
    pub poll_interval: Duration,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            progress_interval: Duration::from_secs(10),
            buffer: 4096,
            poll_interval: Duration::from_secs(1),
        }
    }
}

impl WatchConfig {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            WATCH_BUFFER_RANGE.contains(&self.buffer),
            "watch.buffer: {} is outside {}..={}",
            self.buffer,
            WATCH_BUFFER_RANGE.start(),
            WATCH_BUFFER_RANGE.end()
        );
        at_least_min_interval("watch.progress_interval", self.progress_interval)?;
        at_least_min_interval("watch.poll_interval", self.poll_interval)
    }
}

/// Compaction of the change log. Watches cannot resume from before what
/// is kept.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChangeLogConfig {
    /// Entries older than this are compacted away; `0`: no age limit
    /// (`--change-log-max-age`, `NEWSWIRE_CHANGE_LOG_MAX_AGE`). Default `7d`.
    #[serde(with = "duration::text")]
    pub max_age: Duration,
    /// Only the newest this many entries are kept; `0`: no count limit
    /// (`--change-log-max-entries`, `NEWSWIRE_CHANGE_LOG_MAX_ENTRIES`).
    /// Default 0.
    pub max_entries: u64,
    /// How often the change log is compacted
    /// (`--change-log-compaction-interval`,
    /// `NEWSWIRE_CHANGE_LOG_COMPACTION_INTERVAL`). Default `60s`.
    #[serde(with = "duration::text")]
    pub compaction_interval: Duration,
}

impl Default for ChangeLogConfig {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(7 * 24 * 60 * 60),
            max_entries: 0,
            compaction_interval: Duration::from_secs(60),
        }
    }
}

impl ChangeLogConfig {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        at_least_min_interval("change_log.compaction_interval", self.compaction_interval)
    }
}

fn at_least_min_interval(key: &str, interval: Duration) -> anyhow::Result<()> {
    anyhow::ensure!(
        interval >= MIN_INTERVAL,
        "{key}: {} is shorter than {}",
        duration::format_duration(interval),
        duration::format_duration(MIN_INTERVAL)
    );
    Ok(())
}
