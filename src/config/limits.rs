//! `[limits]`: the operational limits beyond the message size (README,
//! "Limits"). Each must allow some work and stay finite, so every one is
//! at least 1. The per-caller rate is off unless configured: one internal
//! service is one caller, and a default rate would throttle it long before
//! the server runs out of capacity.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Limits on connections, calls, callers and streams.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// HTTP/2 streams (calls) open at once on one connection. Default 128.
    pub max_concurrent_streams_per_connection: u32,
    /// Calls being served at once by the whole server; more are shed with
    /// UNAVAILABLE instead of queueing. Default 512.
    pub max_concurrent_requests: usize,
    /// Watch streams open at once; more are refused with
    /// RESOURCE_EXHAUSTED. Default 1,024.
    pub max_watchers: usize,
    /// Calls per second one caller may start, on average. Default: no
    /// per-caller limit (`max_concurrent_requests` still protects the
    /// server); set it to keep one caller from starving the others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests_per_second_per_caller: Option<u32>,
    /// Calls one caller may start in a burst above that rate. Default twice
    /// the rate; only with `requests_per_second_per_caller`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst_per_caller: Option<u32>,
    /// HTTP/2 PING interval on idle connections. Default 30 s.
    pub keepalive_interval_seconds: u64,
    /// A PING unanswered this long closes the connection. Default 20 s.
    pub keepalive_timeout_seconds: u64,
    /// A stream that carries no message this long is ended with
    /// DEADLINE_EXCEEDED. Default 300 s.
    pub stream_idle_timeout_seconds: u64,
    /// A stream is ended (resumably, UNAVAILABLE) after this long. Default
    /// 3,600 s.
    pub stream_max_lifetime_seconds: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_concurrent_streams_per_connection: 128,
            max_concurrent_requests: 512,
            max_watchers: 1024,
            requests_per_second_per_caller: None,
            burst_per_caller: None,
            keepalive_interval_seconds: 30,
            keepalive_timeout_seconds: 20,
            stream_idle_timeout_seconds: 300,
            stream_max_lifetime_seconds: 3600,
        }
    }
}

impl LimitsConfig {
    /// `keepalive_interval_seconds` as a duration.
    pub fn keepalive_interval(&self) -> Duration {
        Duration::from_secs(self.keepalive_interval_seconds)
    }

    /// `keepalive_timeout_seconds` as a duration.
    pub fn keepalive_timeout(&self) -> Duration {
        Duration::from_secs(self.keepalive_timeout_seconds)
    }

    /// `stream_idle_timeout_seconds` as a duration.
    pub fn stream_idle_timeout(&self) -> Duration {
        Duration::from_secs(self.stream_idle_timeout_seconds)
    }

    /// `stream_max_lifetime_seconds` as a duration.
    pub fn stream_max_lifetime(&self) -> Duration {
        Duration::from_secs(self.stream_max_lifetime_seconds)
    }

    /// The per-caller rate and burst, when a rate is configured.
    pub fn caller_rate(&self) -> Option<(u32, u32)> {
        let rate = self.requests_per_second_per_caller?;
        Some((
            rate,
            self.burst_per_caller.unwrap_or(rate.saturating_mul(2)),
        ))
    }

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.burst_per_caller.is_none() || self.requests_per_second_per_caller.is_some(),
            "limits.burst_per_caller: only applies with limits.requests_per_second_per_caller, which is not set"
        );
        let positive = [
            (
                "max_concurrent_streams_per_connection",
                u64::from(self.max_concurrent_streams_per_connection),
            ),
            (
                "max_concurrent_requests",
                self.max_concurrent_requests as u64,
            ),
            ("max_watchers", self.max_watchers as u64),
            (
                "requests_per_second_per_caller",
                self.requests_per_second_per_caller.map_or(1, u64::from),
            ),
            (
                "burst_per_caller",
                self.burst_per_caller.map_or(1, u64::from),
            ),
            (
                "keepalive_interval_seconds",
                self.keepalive_interval_seconds,
            ),
            ("keepalive_timeout_seconds", self.keepalive_timeout_seconds),
            (
                "stream_idle_timeout_seconds",
                self.stream_idle_timeout_seconds,
            ),
            (
                "stream_max_lifetime_seconds",
                self.stream_max_lifetime_seconds,
            ),
        ];
        for (name, value) in positive {
            anyhow::ensure!(value > 0, "limits.{name}: must be at least 1");
        }
        Ok(())
    }
}
