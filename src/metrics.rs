//! Prometheus metrics, served on a separate admin listener (`GET /metrics`,
//! `[metrics] listen`), never on the gRPC port. Every module records through
//! the `metrics` facade with the names below; one Prometheus recorder per
//! process collects them.
//!
//! The change feed sets `WATCHERS` (admitted watch streams) and
//! `CONSUMER_LAG` (changes its slowest watcher has yet to take, each time
//! the hub has read the log: at least every `--watch-poll-interval`).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::store::Store;

/// Calls by `method` and final `code` (as the response headers tell).
pub const REQUESTS: &str = "newswire_requests_total";
/// Seconds until the response (a unary call's whole duration), by `method`.
pub const REQUEST_SECONDS: &str = "newswire_request_duration_seconds";
/// Calls being served now.
pub const IN_FLIGHT: &str = "newswire_requests_in_flight";
/// Calls refused over a caller's rate limit, by `caller` (the first 1,000
/// callers limited by name, later ones as `other`).
pub const RATE_LIMITED: &str = "newswire_rate_limited_calls_total";
/// Import items by `outcome` (created, updated, unchanged, failed).
pub const IMPORT_ITEMS: &str = "newswire_import_items_total";
/// The store's highest committed revision (sampled).
pub const REVISION: &str = "newswire_revision";
/// Open watch streams (set by the change feed).
pub const WATCHERS: &str = "newswire_watchers";
/// Changes the slowest following watcher has yet to take (set by the
/// change feed's hub).
pub const CONSUMER_LAG: &str = "newswire_consumer_lag_revisions";
/// PostgreSQL pool connections by `state` (open, idle) and callers waiting.
pub const POOL_CONNECTIONS: &str = "newswire_db_pool_connections";
pub const POOL_WAITING: &str = "newswire_db_pool_waiting";

/// Latency buckets, 0.5 ms to 30 s.
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// How often store state is sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// The process's recorder, installed on first use.
pub fn handle() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)?
        .build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        // Another thread won the race; its handle is the one.
        return HANDLE
            .get()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("a foreign metrics recorder is installed"));
    }
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// Serves `GET /metrics` on `listener` until `shutdown` resolves.
pub async fn serve_admin(
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let handle = handle()?;
    let router = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let handle = handle.clone();
            async move { handle.render() }
        }),
    );
    tracing::info!(admin_address = %listener.local_addr()?, "metrics serving");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// Samples the store's revision every few seconds, for as long as the
/// returned task runs.
pub fn sample_revision(store: Arc<dyn Store>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(SAMPLE_EVERY);
        loop {
            interval.tick().await;
            if let Ok(revision) = store.current_revision().await {
                metrics::gauge!(REVISION).set(revision.0 as f64);
            }
        }
    })
}

/// Samples a PostgreSQL pool every few seconds, for as long as the
/// returned task runs.
pub fn sample_pool(
    store: Arc<crate::store::postgres::PostgresStore>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(SAMPLE_EVERY);
        loop {
            interval.tick().await;
            let status = store.pool_status();
            metrics::gauge!(POOL_CONNECTIONS, "state" => "open").set(status.size as f64);
            metrics::gauge!(POOL_CONNECTIONS, "state" => "idle").set(status.available as f64);
            metrics::gauge!(POOL_WAITING).set(status.waiting as f64);
        }
    })
}
