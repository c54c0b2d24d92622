//! The client commands, `import`, `export` and `watch`, which talk to a
//! running server through the generated gRPC client like any other service would,
//! presenting a bearer token (`--token` / `NEWSWIRE_TOKEN`) and, for
//! `https://` servers, verifying them with TLS.

pub mod export;
pub mod import;
pub mod watch;

use anyhow::Context;
use tonic::metadata::AsciiMetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Request, Status};

use crate::cli::ServerAddress;
use crate::proto::article_service_client::ArticleServiceClient;

/// The client the commands use.
pub type Client = ArticleServiceClient<InterceptedService<Channel, BearerToken>>;

/// Adds `authorization: Bearer <token>` to every call, when there is a token.
#[derive(Clone)]
pub struct BearerToken(Option<AsciiMetadataValue>);

impl Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A client of the server `address` names; large messages allowed both
/// ways, as the server allows them.
pub async fn connect(address: &ServerAddress) -> anyhow::Result<Client> {
    let url = &address.url;
    let mut endpoint = Endpoint::from_shared(url.to_string())
        .map_err(|error| anyhow::anyhow!("--server {url:?} is not a valid URL: {error}"))?;
    if url.starts_with("https://") {
        let mut tls = ClientTlsConfig::new().with_enabled_roots();
        if let Some(path) = &address.ca_file {
            let pem = std::fs::read(path)
                .with_context(|| format!("--ca-file: cannot read {}", path.display()))?;
            tls = tls.ca_certificate(Certificate::from_pem(pem));
        }
        endpoint = endpoint
            .tls_config(tls)
            .context("--server: cannot set up TLS")?;
    }
    let channel = endpoint
        .connect()
        .await
        .map_err(|error| unreachable(url, &error))?;
    let token = address
        .token
        .as_deref()
        .map(|token| {
            AsciiMetadataValue::try_from(format!("Bearer {token}"))
                .map_err(|_| anyhow::anyhow!("--token / NEWSWIRE_TOKEN: not a valid header value"))
        })
        .transpose()?;
    Ok(
        ArticleServiceClient::with_interceptor(channel, BearerToken(token))
            .max_decoding_message_size(64 * 1024 * 1024)
            .max_encoding_message_size(64 * 1024 * 1024),
    )
}

/// Why `url` could not be reached: tonic's "transport error" with every
/// cause under it (connection refused, a TLS or DNS failure), and a hint.
fn unreachable(url: &str, error: &tonic::transport::Error) -> anyhow::Error {
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    causes.dedup();
    let why = if causes.is_empty() {
        error.to_string()
    } else {
        causes.join(": ")
    };
    anyhow::anyhow!(
        "cannot reach newswire at {url}: {why} (is `newswire serve` running there? \
         --server / NEWSWIRE_SERVER names another address)"
    )
}
