//! Assembles the gRPC services, reflection, health and limits, and serves
//! them on an already-bound listener until `shutdown` resolves. Taking the
//! listener lets tests bind port 0 and production bind the configured address.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use crate::api::ArticleApi;
use crate::proto::{FILE_DESCRIPTOR_SET, article_service_server::ArticleServiceServer};
use crate::store::Store;
use crate::watch::{Feed, FeedSettings};

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

/// Serves newswire on `listener` until `shutdown` resolves, then lets
/// in-flight calls finish and returns.
pub async fn run(
    listener: TcpListener,
    store: Arc<dyn Store>,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let feed = Feed::start(store, limits.feed);
    let articles = ArticleServiceServer::new(ArticleApi::new(feed.clone()))
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

    tracing::info!(address = %listener.local_addr()?, "newswire serving");
    // Watches never end by themselves: end them at shutdown, so that the
    // graceful shutdown does not wait for them forever.
    let closing_feed = feed.clone();
    let shutdown = async move {
        shutdown.await;
        closing_feed.close();
    };
    let served = Server::builder()
        .add_service(articles)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        // Small responses must not wait for the peer's delayed ACK (Nagle):
        // without TCP_NODELAY a unary call costs ~40 ms.
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )
        .await;
    feed.close();
    served?;
    tracing::info!("newswire stopped");
    Ok(())
}
