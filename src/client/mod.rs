//! The client commands, `import`, `export` and `watch`, which talk to a running
//! server through the generated gRPC client like any other service would.

pub mod export;
pub mod import;
pub mod watch;

use tonic::transport::{Channel, Endpoint};

use crate::proto::article_service_client::ArticleServiceClient;

/// A client of the server at `url`; large messages allowed both ways, as
/// the server allows them.
pub async fn connect(url: &str) -> anyhow::Result<ArticleServiceClient<Channel>> {
    let channel = Endpoint::from_shared(url.to_string())
        .map_err(|error| anyhow::anyhow!("--server {url:?} is not a valid URL: {error}"))?
        .connect()
        .await
        .map_err(|error| anyhow::anyhow!("cannot reach newswire at {url}: {error}"))?;
    Ok(ArticleServiceClient::new(channel)
        .max_decoding_message_size(64 * 1024 * 1024)
        .max_encoding_message_size(64 * 1024 * 1024))
}
