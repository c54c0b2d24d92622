//! Serves newswire on already-bound listeners until a shutdown future
//! resolves: `serve` is a list of steps — guard, start the background
//! tasks, start the feed, build the router, run it until the drain ends,
//! stop — each a short function below. Taking the listeners lets tests
//! bind port 0 and production bind the configured addresses
//! (`Listeners::bind`).
//!
//! Here `Config` becomes what the layers below take: access control and
//! admission for the gate, stream limits for the API, options for the
//! change feed.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::codec::CompressionEncoding;
use tonic::transport::server::{Router, TcpIncoming};
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic_health::server::HealthReporter;

use crate::api::ArticleApi;
use crate::api::served::article_service_server::ArticleServiceServer;
use crate::api::stream_limits::StreamLimits;
use crate::audit::AuditLog;
use crate::auth::AccessControl;
use crate::config::{Config, LimitsConfig, TlsConfig, WATCH_BUFFER_RANGE};
use crate::gate::admission::{Admission, AdmissionLimits, CallerRate};
use crate::gate::{Gate, GateLayer};
use crate::proto::FILE_DESCRIPTOR_SET;
use crate::store::{Retention, Store};
use crate::watch::{Feed, FeedOptions};

/// How long connections may take to close once their calls were cut.
const CUT_CALLS_CLOSE_WITHIN: Duration = Duration::from_secs(5);

// An import batch arrives at the feed at once: a watcher must have room
// for one, so the smallest `watch.buffer` the configuration allows is one.
const _: () = assert!(*WATCH_BUFFER_RANGE.start() as usize >= crate::api::MAX_IMPORT_BATCH);

/// The service newswire serves, as health reports it.
type Articles = ArticleServiceServer<ArticleApi>;

/// The services behind the gate, ready to serve.
type GatedRouter = Router<tower::layer::util::Stack<GateLayer, tower::layer::util::Identity>>;

/// Where newswire serves: the gRPC listener and, if any, the admin
/// listener of Prometheus metrics. A bare `TcpListener` is a server
/// without an admin listener.
pub struct Listeners {
    pub grpc: TcpListener,
    pub metrics: Option<TcpListener>,
}

impl Listeners {
    /// Binds `server.listen`, and `metrics.listen` when set.
    pub async fn bind(config: &Config) -> anyhow::Result<Self> {
        let metrics = match config.metrics.listen {
            Some(address) => Some(bind(address, "metrics.listen").await?),
            None => None,
        };
        Ok(Self {
            grpc: bind(config.server.listen, "server.listen").await?,
            metrics,
        })
    }
}

impl From<TcpListener> for Listeners {
    fn from(grpc: TcpListener) -> Self {
        Self {
            grpc,
            metrics: None,
        }
    }
}

async fn bind(address: SocketAddr, key: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .with_context(|| format!("{key}: cannot listen on {address}"))
}

/// Builds what `serve` would build from `config` and needs files or
/// descriptor sets for (access control, the audit log, TLS), without
/// serving: for `newswire config check`, and for `serve` to refuse a bad
/// configuration before it opens the store. An error names the key.
pub fn check(config: &Config) -> anyhow::Result<()> {
    AccessControl::new(&config.auth)?;
    audit_log(config)?;
    tls(config.tls.as_ref())?;
    Ok(())
}

/// Serves newswire on `listeners` as `config` says until `shutdown`
/// resolves, then drains: stops accepting, lets in-flight calls finish
/// within the grace period, cuts what is left, and returns.
pub async fn serve(
    listeners: impl Into<Listeners>,
    store: Arc<dyn Store>,
    config: Config,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let listeners = listeners.into();
    let gate = gate(&config)?;
    let tls = tls(config.tls.as_ref())?;
    let background = start_metrics(listeners.metrics, &store)?;
    let feed = Feed::start(store, feed_options(&config));
    let (draining, drain_started) = watch::channel(false);
    let stream_limits = stream_limits(&config.limits, drain_started.clone());
    let (health, router) = router(&config, &gate, tls, &feed, stream_limits).await?;
    let drain = drain_on(shutdown, health, draining, feed.clone());
    let served = run(router, listeners.grpc, drain, drain_started, &gate, &config).await;
    stop(feed, background);
    served
}

/// The gate every call passes: who may call what, how many at once, and
/// where refusals are recorded.
fn gate(config: &Config) -> anyhow::Result<Arc<Gate>> {
    let access = AccessControl::new(&config.auth)?;
    warn_about_access(config, &access);
    let admission = Admission::new(admission_limits(&config.limits)?);
    Ok(Arc::new(Gate::new(access, admission, audit_log(config)?)))
}

/// Says at start-up when nobody, or everybody, may call.
fn warn_about_access(config: &Config, access: &AccessControl) {
    let auth = &config.auth;
    if access.allows_anonymous() {
        tracing::warn!(
            scopes = ?auth.anonymous_scopes,
            "INSECURE: callers without credentials are let in (auth.anonymous_scopes or \
             --insecure-allow-anonymous); for local development only"
        );
    } else if auth.callers.is_empty() && auth.jwt.is_none() && auth.certificates.is_empty() {
        tracing::warn!(
            "no caller is configured (auth.callers, auth.jwt, auth.certificates): every \
             call not opened by auth.open is refused; see README \"Running newswire in production\""
        );
    }
}

/// `[limits]` as admission takes them.
fn admission_limits(limits: &LimitsConfig) -> anyhow::Result<AdmissionLimits> {
    let at_least_one = |value: u32, key: &str| {
        std::num::NonZeroU32::new(value)
            .with_context(|| format!("limits.{key}: must be at least 1"))
    };
    let per_caller = match limits.caller_rate() {
        Some((rate, burst)) => Some(CallerRate {
            per_second: at_least_one(rate, "requests_per_second_per_caller")?,
            burst: at_least_one(burst, "burst_per_caller")?,
        }),
        None => None,
    };
    Ok(AdmissionLimits {
        per_caller,
        max_concurrent_requests: limits.max_concurrent_requests,
    })
}

/// The audit log `[audit]` names: a file, or the server's log.
fn audit_log(config: &Config) -> anyhow::Result<AuditLog> {
    match &config.audit.file {
        Some(path) => AuditLog::to_file(path),
        None => Ok(AuditLog::to_tracing()),
    }
}

/// The rustls configuration of `[tls]`: the server's identity, and the
/// client CA when mutual TLS is on; parsed now, not at the first call.
fn tls(config: Option<&TlsConfig>) -> anyhow::Result<Option<ServerTlsConfig>> {
    let Some(config) = config else {
        return Ok(None);
    };
    let read = |path: &std::path::Path, key: &str| {
        std::fs::read(path).with_context(|| format!("tls.{key}: cannot read {}", path.display()))
    };
    let certificate = read(&config.certificate_file, "certificate_file")?;
    let key = read(&config.key_file, "key_file")?;
    let mut tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(certificate, key))
        .timeout(config.handshake_timeout());
    if let Some(client_ca) = &config.client_ca_file {
        tls = tls
            .client_ca_root(Certificate::from_pem(read(client_ca, "client_ca_file")?))
            .client_auth_optional(!config.require_client_certificate);
    }
    Server::builder()
        .tls_config(tls.clone())
        .context("tls: the certificate, key or client CA is not valid PEM")?;
    Ok(Some(tls))
}

/// The admin listener and the store samplers, when there is an admin
/// listener; they end with `serve`.
fn start_metrics(
    listener: Option<TcpListener>,
    store: &Arc<dyn Store>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let Some(listener) = listener else {
        return Ok(Vec::new());
    };
    crate::metrics::handle()?;
    let admin = tokio::spawn(async move {
        if let Err(error) = crate::metrics::serve_admin(listener, std::future::pending()).await {
            tracing::error!(error = %format!("{error:#}"), "the metrics listener failed");
        }
    });
    Ok(vec![admin, crate::metrics::sample_revision(store.clone())])
}

/// `[watch]` and `[change_log]` as the feed takes them.
fn feed_options(config: &Config) -> FeedOptions {
    let change_log = &config.change_log;
    FeedOptions {
        progress_interval: config.watch.progress_interval,
        watcher_buffer: config.watch.buffer as usize,
        poll_interval: config.watch.poll_interval,
        retention: Retention {
            max_age: (!change_log.max_age.is_zero()).then_some(change_log.max_age),
            max_entries: (change_log.max_entries > 0).then_some(change_log.max_entries),
        },
        compaction_interval: change_log.compaction_interval,
    }
}

/// `[limits]`'s stream limits, ending watches when the drain starts.
fn stream_limits(limits: &LimitsConfig, draining: watch::Receiver<bool>) -> StreamLimits {
    StreamLimits::new(
        limits.stream_idle_timeout(),
        limits.stream_max_lifetime(),
        limits.max_watchers,
        draining,
    )
}

/// The article service, health and reflection behind the gate, with the
/// transport's TLS and HTTP/2 limits; health reports SERVING.
async fn router(
    config: &Config,
    gate: &Arc<Gate>,
    tls: Option<ServerTlsConfig>,
    feed: &Feed,
    stream_limits: StreamLimits,
) -> anyhow::Result<(HealthReporter, GatedRouter)> {
    let max_message_bytes = config.server.max_message_bytes as usize;
    let articles = ArticleServiceServer::new(
        ArticleApi::new(feed.clone())
            .with_audit(gate.audit.clone())
            .with_stream_limits(stream_limits),
    )
    .accept_compressed(CompressionEncoding::Gzip)
    .send_compressed(CompressionEncoding::Gzip)
    .max_decoding_message_size(max_message_bytes)
    .max_encoding_message_size(max_message_bytes);

    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<Articles>().await;

    // grpcurl 1.8 asks v1alpha, newer clients v1: serve both.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let mut builder = Server::builder();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls)?;
    }
    let limits = &config.limits;
    let router = builder
        .max_concurrent_streams(limits.max_concurrent_streams_per_connection)
        .http2_keepalive_interval(Some(limits.keepalive_interval()))
        .http2_keepalive_timeout(Some(limits.keepalive_timeout()))
        .layer(GateLayer::new(gate.clone()))
        .add_service(articles)
        .add_service(health)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?);
    Ok((health_reporter, router))
}

/// Resolves once `shutdown` has and the drain has begun: health says
/// NOT_SERVING, streams are told (`draining`), and the feed is closed, as
/// watches never end by themselves and the drain must not wait for them.
/// The server then accepts no new connections and sends GOAWAY on open ones.
async fn drain_on(
    shutdown: impl Future<Output = ()>,
    health: HealthReporter,
    draining: watch::Sender<bool>,
    feed: Feed,
) {
    shutdown.await;
    tracing::info!("draining: no new connections, in-flight calls may finish");
    health.set_not_serving::<Articles>().await;
    let _ = draining.send(true);
    feed.close();
}

/// Serves `router` on `listener` until the drain is over, or the grace
/// period after it began is: then the calls still in flight are cut.
async fn run(
    router: GatedRouter,
    listener: TcpListener,
    drain: impl Future<Output = ()>,
    mut drain_started: watch::Receiver<bool>,
    gate: &Gate,
    config: &Config,
) -> anyhow::Result<()> {
    let transport = if config.tls.is_some() {
        "tls"
    } else {
        "plaintext"
    };
    tracing::info!(address = %listener.local_addr()?, %transport, "newswire serving");
    // Small responses must not wait for the peer's delayed ACK (Nagle):
    // without TCP_NODELAY a unary call costs ~40 ms.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let mut serving = std::pin::pin!(router.serve_with_incoming_shutdown(incoming, drain));
    let grace_period = config.shutdown.grace_period();
    let grace_over = async move {
        let _ = drain_started.wait_for(|draining| *draining).await;
        tokio::time::sleep(grace_period).await;
    };
    tokio::select! {
        served = &mut serving => served?,
        () = grace_over => {
            tracing::warn!(
                ?grace_period,
                "calls still in flight after the grace period (shutdown.grace_period_seconds) \
                 are ended with UNAVAILABLE"
            );
            gate.cut.send_replace(true);
            // The cut calls end at once; their connections then close.
            if tokio::time::timeout(CUT_CALLS_CLOSE_WITHIN, &mut serving).await.is_err() {
                tracing::warn!("connections still open after the cut are abandoned");
            }
        }
    }
    Ok(())
}

/// Ends the feed and the background tasks.
fn stop(feed: Feed, background: Vec<JoinHandle<()>>) {
    feed.close();
    for task in background {
        task.abort();
    }
    tracing::info!("newswire stopped");
}
