//! A real newswire server on 127.0.0.1:0 with a fresh database (SQLite, or
//! PostgreSQL through `postgres::TestDatabase`), and clients for it.
//! Dropping the server shuts it down and removes its data.
//!
//! `start` serves with `config/development.toml` plus the explicit
//! anonymous opt-in (`auth.anonymous_scopes`, as `--insecure-allow-anonymous`),
//! so tests about the API need no credentials; `start_development` serves
//! exactly the development configuration; `start_configured` any
//! configuration (the authentication, TLS, limit and feed tests build
//! their own). Every server is started through `newswire::server::serve`,
//! as `newswire serve` starts it.

use std::net::SocketAddr;
use std::sync::Arc;

use newswire::config::Config;
use newswire::proto::article_service_client::ArticleServiceClient;
use newswire::proto::{
    ImportArticlesRequest, ImportArticlesResponse, import_articles_request::Item,
};
use newswire::store::Store;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::Channel;

use super::corpus;
use super::postgres::TestDatabase;

/// A running server and what it owns.
pub struct TestServer {
    address: SocketAddr,
    /// The admin listener serving `/metrics`, when the configuration asks for one
    /// (any `metrics.listen`: the test server binds 127.0.0.1:0 instead).
    pub metrics_address: Option<SocketAddr>,
    shutdown: Option<oneshot::Sender<()>>,
    _data: tempfile::TempDir,
    /// The PostgreSQL database of `start_postgres`, dropped after the
    /// server is told to stop (fields drop after `Drop::drop`).
    _database: Option<TestDatabase>,
}

/// The development token `config/development.toml` documents.
pub const DEVELOPMENT_TOKEN: &str = "newswire-dev-token";

/// The checked-in development configuration.
pub fn development_config() -> Config {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/development.toml");
    let config = Config::from_file(&path).expect("config/development.toml is valid");
    config.validate().expect("config/development.toml is valid");
    config
}

/// The development configuration, open to callers without credentials (as
/// `--insecure-allow-anonymous`); like every default configuration it has
/// no per-caller rate limit.
pub fn anonymous_config() -> Config {
    let mut config = development_config();
    config.allow_anonymous();
    config
}

impl TestServer {
    /// A server over a fresh SQLite database in a temporary directory,
    /// callable without credentials.
    pub async fn start() -> Self {
        Self::start_configured(anonymous_config()).await
    }

    /// A server with exactly `config/development.toml`.
    pub async fn start_development() -> Self {
        Self::start_configured(development_config()).await
    }

    /// A server with `config` over a fresh SQLite database.
    pub async fn start_configured(config: Config) -> Self {
        let data = tempfile::tempdir().expect("a temporary directory");
        // As `serve` runs it: SQLite behind the read cache.
        let store = newswire::store::open_embedded(
            &data.path().join("newswire.sqlite3"),
            newswire::wire::article_encoder(),
        )
        .expect("the store opens");
        Self::start_with_config(store, data, config).await
    }

    /// A server over a fresh PostgreSQL database of its own, as `serve
    /// --database postgres://…` runs it.
    pub async fn start_postgres() -> Self {
        let database = TestDatabase::create().await;
        let store = newswire::store::postgres::PostgresStore::connect(
            database.url(),
            newswire::wire::article_encoder(),
        )
        .await
        .unwrap_or_else(|error| panic!("connecting to {}: {error}", database.name()));
        let data = tempfile::tempdir().expect("a temporary directory");
        let mut server = Self::start_with(Arc::new(store), data).await;
        server._database = Some(database);
        server
    }

    /// A server over `store`, callable without credentials; `data` lives as
    /// long as the server.
    pub async fn start_with(store: Arc<dyn Store>, data: tempfile::TempDir) -> Self {
        Self::start_with_config(store, data, anonymous_config()).await
    }

    /// A server over `store` with `config`; `data` lives as long as the
    /// server. The listeners are bound on 127.0.0.1:0: the admin listener
    /// only if `metrics.listen` is set (its address is not used).
    pub async fn start_with_config(
        store: Arc<dyn Store>,
        data: tempfile::TempDir,
        config: Config,
    ) -> Self {
        let listeners = newswire::server::Listeners {
            grpc: bind_ephemeral().await,
            metrics: match config.metrics.listen {
                Some(_) => Some(bind_ephemeral().await),
                None => None,
            },
        };
        let address = listeners.grpc.local_addr().expect("a local address");
        let metrics_address = listeners
            .metrics
            .as_ref()
            .map(|admin| admin.local_addr().expect("a local address"));
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown_signal = async {
                let _ = stopped.await;
            };
            if let Err(error) =
                newswire::server::serve(listeners, store, config, shutdown_signal).await
            {
                panic!("the test server failed: {error:#}");
            }
        });
        Self {
            address,
            metrics_address,
            shutdown: Some(shutdown),
            _data: data,
            _database: None,
        }
    }

    /// Where the server listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://ADDRESS`, for clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// A generated Rust client connected to the server.
    pub async fn client(&self) -> ArticleServiceClient<Channel> {
        let channel = Channel::from_shared(self.url())
            .expect("a valid URL")
            .connect()
            .await
            .expect("connect");
        ArticleServiceClient::new(channel).max_decoding_message_size(64 * 1024 * 1024)
    }

    /// Imports every corpus document through ImportArticles, source = file
    /// name, presenting the development token.
    pub async fn import_corpus(&self) -> ImportArticlesResponse {
        let requests: Vec<ImportArticlesRequest> = corpus::documents()
            .into_iter()
            .map(|document| ImportArticlesRequest {
                source: document.source,
                item: Some(Item::Document(document.text)),
            })
            .collect();
        let mut request = tonic::Request::new(tokio_stream::iter(requests));
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {DEVELOPMENT_TOKEN}")
                .parse()
                .expect("a valid header"),
        );
        self.client()
            .await
            .import_articles(request)
            .await
            .expect("import succeeds")
            .into_inner()
    }
}

async fn bind_ephemeral() -> TcpListener {
    TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind an ephemeral port")
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
