//! A baseline's server: any `ArticleService` served by a bare tonic
//! server as tonic ships it, in a server child, until stdin closes.

use anyhow::Context;
use newswire::proto::article_service_server::{ArticleService, ArticleServiceServer};
use tonic::transport::server::TcpIncoming;

use super::child::{SERVER_LIFETIME_LIMIT, announce, bind, runtime, stdin_closed};

/// Serves `service` on `address` until stdin closes. Connections are
/// accepted as `Server::serve` accepts them, with tonic's default
/// `tcp_nodelay(true)`: a bare tonic server as tonic ships it.
pub fn serve(address: &str, service: impl ArticleService) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let listener = bind(address).await?;
        announce(&listener)?;
        tonic::transport::Server::builder()
            .add_service(ArticleServiceServer::new(service))
            .serve_with_incoming_shutdown(
                TcpIncoming::from(listener).with_nodelay(Some(true)),
                stdin_closed(SERVER_LIFETIME_LIMIT),
            )
            .await
            .context("serving")
    })
}
