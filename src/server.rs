//! Assembles the gRPC services, reflection, health, the gate (identity,
//! permission, admission, request ids) and the limits, and serves them on
//! an already-bound listener until `shutdown` resolves. Taking the listener
//! lets tests bind port 0 and production bind the configured address.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use crate::api::ArticleApi;
use crate::api::stream_limits::StreamLimits;
use crate::audit::AuditLog;
use crate::auth::AccessControl;
use crate::gate::admission::Admission;
use crate::gate::{Gate, GateLayer};
use crate::proto::{FILE_DESCRIPTOR_SET, served::article_service_server::ArticleServiceServer};
use crate::settings::{LimitSettings, Settings, TlsSettings};
use crate::store::Store;
use crate::watch::{Feed, FeedSettings};

/// How long connections may take to close once their calls were cut.
const CUT_CALLS_CLOSE_WITHIN: Duration = Duration::from_secs(5);

/// Limits of the gRPC server itself; each is documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Largest request or response message, in bytes. A document may be up
    /// to 1 MiB, and its article form is larger, so the default is 4 MiB.
    pub max_message_bytes: usize,
    /// The change feed's intervals, buffers and retention.
    pub feed: FeedSettings,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_message_bytes: 4 * 1024 * 1024,
            feed: FeedSettings::default(),
        }
    }
}

/// Everything `run` needs from the settings, built and validated: what
/// `newswire config check` checks without serving.
pub struct Prepared {
    gate: Arc<Gate>,
    tls: Option<ServerTlsConfig>,
    limits: ServerLimits,
    limit_settings: LimitSettings,
    grace_period: Duration,
    metrics_listener: Option<TcpListener>,
}

impl Prepared {
    /// Builds the access control, audit log, admission limits and TLS
    /// configuration of `settings`; an error names the field at fault.
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let access = AccessControl::from_settings(&settings.auth)?;
        let auth = &settings.auth;
        if auth.callers.is_empty()
            && auth.jwt.is_none()
            && auth.certificates.is_empty()
            && !access.allows_anonymous()
        {
            tracing::warn!(
                "no caller is configured (auth.callers, auth.jwt, auth.certificates): every \
                 call not opened by auth.open is refused; see README \"Running newswire in production\""
            );
        }
        if access.allows_anonymous() {
            tracing::warn!(
                scopes = ?settings.auth.anonymous_scopes,
                "INSECURE: callers without credentials are let in (auth.anonymous_scopes or \
                 --insecure-allow-anonymous); for local development only"
            );
        }
        let audit = match &settings.audit.file {
            Some(path) => AuditLog::to_file(path)?,
            None => AuditLog::to_tracing(),
        };
        let tls = settings.tls.as_ref().map(tls_config).transpose()?;
        if let Some(tls) = &tls {
            // Parses the certificates and key now, not at the first call.
            Server::builder()
                .tls_config(tls.clone())
                .context("tls: the certificate, key or client CA is not valid PEM")?;
        }
        let max_message_bytes = settings
            .server
            .max_message_bytes
            .map_or(ServerLimits::default().max_message_bytes, |bytes| {
                bytes as usize
            });
        Ok(Self {
            gate: Arc::new(Gate::new(access, Admission::new(&settings.limits), audit)),
            tls,
            limits: ServerLimits {
                max_message_bytes,
                feed: FeedSettings::default(),
            },
            limit_settings: settings.limits.clone(),
            grace_period: Duration::from_secs(settings.shutdown.grace_period_seconds),
            metrics_listener: None,
        })
    }

    /// The change feed's intervals, buffers and retention (`serve` flags).
    pub fn with_feed(mut self, feed: FeedSettings) -> Self {
        self.limits.feed = feed;
        self
    }

    /// Serves Prometheus metrics on `listener` too (the admin listener).
    pub fn with_metrics_listener(self, listener: TcpListener) -> Self {
        Self {
            metrics_listener: Some(listener),
            ..self
        }
    }

    /// Binds the admin listener `[metrics] listen` names, if any.
    pub async fn bind_metrics_listener(self, settings: &Settings) -> anyhow::Result<Self> {
        Ok(match settings.metrics.listen {
            Some(address) => self.with_metrics_listener(
                TcpListener::bind(address)
                    .await
                    .with_context(|| format!("metrics.listen: cannot listen on {address}"))?,
            ),
            None => self,
        })
    }
}

/// Serves newswire on `listener` as `settings` say until `shutdown`
/// resolves, then stops accepting, lets in-flight calls finish within the
/// grace period, and returns.
pub async fn run(
    listener: TcpListener,
    store: Arc<dyn Store>,
    settings: &Settings,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let prepared = Prepared::new(settings)?
        .bind_metrics_listener(settings)
        .await?;
    serve(listener, store, prepared, shutdown).await
}

/// `run` with prepared settings.
pub async fn serve(
    listener: TcpListener,
    store: Arc<dyn Store>,
    prepared: Prepared,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let limits = prepared.limits;
    // The admin listener and the samplers end with `serve`.
    let mut background = Vec::new();
    if let Some(admin) = prepared.metrics_listener {
        crate::metrics::handle()?;
        background.push(tokio::spawn(async move {
            if let Err(error) = crate::metrics::serve_admin(admin, std::future::pending()).await {
                tracing::error!(error = %format!("{error:#}"), "the metrics listener failed");
            }
        }));
        background.push(crate::metrics::sample_revision(store.clone()));
    }
    let (draining, drain_started) = tokio::sync::watch::channel(false);
    let stream_limits = StreamLimits::new(&prepared.limit_settings, drain_started.clone());
    let feed = Feed::start(store, limits.feed);
    let articles = ArticleServiceServer::new(
        ArticleApi::new(feed.clone())
            .with_audit(prepared.gate.audit.clone())
            .with_stream_limits(stream_limits),
    )
    .accept_compressed(CompressionEncoding::Gzip)
    .send_compressed(CompressionEncoding::Gzip)
    .max_decoding_message_size(limits.max_message_bytes)
    .max_encoding_message_size(limits.max_message_bytes);

    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<ArticleServiceServer<ArticleApi>>()
        .await;

    // grpcurl 1.8 asks v1alpha, newer clients v1: serve both.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;

    let address = listener.local_addr()?;
    let transport = if prepared.tls.is_some() {
        "tls"
    } else {
        "plaintext"
    };
    let mut builder = Server::builder();
    if let Some(tls) = prepared.tls {
        builder = builder.tls_config(tls)?;
    }
    let limit_settings = &prepared.limit_settings;
    let router = builder
        .max_concurrent_streams(limit_settings.max_concurrent_streams_per_connection)
        .http2_keepalive_interval(Some(Duration::from_secs(
            limit_settings.keepalive_interval_seconds,
        )))
        .http2_keepalive_timeout(Some(Duration::from_secs(
            limit_settings.keepalive_timeout_seconds,
        )))
        .layer(GateLayer::new(prepared.gate.clone()))
        .add_service(articles)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);

    // Shutdown: the signal starts the drain (health says NOT_SERVING, no
    // new connections, GOAWAY on open ones); in-flight calls then have the
    // grace period to finish before the server returns anyway.
    let mut drain_started = drain_started;
    let closing_feed = feed.clone();
    let drain_signal = async move {
        shutdown.await;
        tracing::info!("draining: no new connections, in-flight calls may finish");
        health_reporter
            .set_not_serving::<ArticleServiceServer<ArticleApi>>()
            .await;
        let _ = draining.send(true);
        // Watches never end by themselves: end them now with a resumable
        // status, so that the drain does not wait for them.
        closing_feed.close();
    };
    tracing::info!(address = %address, %transport, "newswire serving");
    // Small responses must not wait for the peer's delayed ACK (Nagle):
    // without TCP_NODELAY a unary call costs ~40 ms.
    let serving = router.serve_with_incoming_shutdown(
        TcpIncoming::from(listener).with_nodelay(Some(true)),
        drain_signal,
    );
    let grace_period = prepared.grace_period;
    let grace_over = async move {
        let _ = drain_started.wait_for(|draining| *draining).await;
        tokio::time::sleep(grace_period).await;
    };
    let mut serving = std::pin::pin!(serving);
    tokio::select! {
        served = &mut serving => served?,
        () = grace_over => {
            tracing::warn!(
                ?grace_period,
                "calls still in flight after the grace period (shutdown.grace_period_seconds) \
                 are ended with UNAVAILABLE"
            );
            prepared.gate.cut.send_replace(true);
            // The cut calls end at once; their connections then close.
            if tokio::time::timeout(CUT_CALLS_CLOSE_WITHIN, &mut serving).await.is_err() {
                tracing::warn!("connections still open after the cut are abandoned");
            }
        }
    }
    feed.close();
    for task in background {
        task.abort();
    }
    tracing::info!("newswire stopped");
    Ok(())
}

/// The rustls configuration of `[tls]`: the server's identity, and the
/// client CA when mutual TLS is on.
fn tls_config(settings: &TlsSettings) -> anyhow::Result<ServerTlsConfig> {
    let read = |path: &std::path::Path, field: &str| {
        std::fs::read(path).with_context(|| format!("tls.{field}: cannot read {}", path.display()))
    };
    let certificate = read(&settings.certificate_file, "certificate_file")?;
    let key = read(&settings.key_file, "key_file")?;
    let mut config = ServerTlsConfig::new()
        .identity(Identity::from_pem(certificate, key))
        .timeout(Duration::from_secs(settings.handshake_timeout_seconds));
    if let Some(client_ca) = &settings.client_ca_file {
        config = config
            .client_ca_root(Certificate::from_pem(read(client_ca, "client_ca_file")?))
            .client_auth_optional(!settings.require_client_certificate);
    }
    Ok(config)
}
