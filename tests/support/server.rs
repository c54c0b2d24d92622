//! A real newswire server on 127.0.0.1:0 with a fresh database (SQLite, or
//! PostgreSQL through `postgres::TestDatabase`), and clients for it.
//! Dropping the server shuts it down and removes its data.

use std::net::SocketAddr;
use std::sync::Arc;

use newswire::proto::article_service_client::ArticleServiceClient;
use newswire::proto::{
    ImportArticlesRequest, ImportArticlesResponse, import_articles_request::Item,
};
use newswire::server::ServerLimits;
use newswire::store::Store;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::Channel;

use super::corpus;
use super::postgres::TestDatabase;

/// A running server and what it owns.
pub struct TestServer {
    address: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    _data: tempfile::TempDir,
    /// The PostgreSQL database of `start_postgres`, dropped after the
    /// server is told to stop (fields drop after `Drop::drop`).
    _database: Option<TestDatabase>,
}

impl TestServer {
    /// A server over a fresh SQLite database in a temporary directory.
    pub async fn start() -> Self {
        let data = tempfile::tempdir().expect("a temporary directory");
        // As `serve` runs it: SQLite behind the read cache.
        let store = newswire::store::open_embedded(&data.path().join("newswire.sqlite3"))
            .expect("the store opens");
        Self::start_with(store, data).await
    }

    /// A server over a fresh PostgreSQL database of its own, as `serve
    /// --database postgres://…` runs it.
    pub async fn start_postgres() -> Self {
        let database = TestDatabase::create().await;
        let store = newswire::store::postgres::PostgresStore::connect(database.url())
            .await
            .unwrap_or_else(|error| panic!("connecting to {}: {error}", database.name()));
        let data = tempfile::tempdir().expect("a temporary directory");
        let mut server = Self::start_with(Arc::new(store), data).await;
        server._database = Some(database);
        server
    }

    /// A server over `store`; `data` lives as long as the server.
    pub async fn start_with(store: Arc<dyn Store>, data: tempfile::TempDir) -> Self {
        Self::start_with_limits(store, data, ServerLimits::default()).await
    }

    /// A server over a fresh SQLite database with `limits` (the change
    /// feed's settings among them).
    pub async fn start_with_feed(feed: newswire::watch::FeedSettings) -> Self {
        let data = tempfile::tempdir().expect("a temporary directory");
        let store = newswire::store::open_embedded(&data.path().join("newswire.sqlite3"))
            .expect("the store opens");
        let limits = ServerLimits {
            feed,
            ..ServerLimits::default()
        };
        Self::start_with_limits(store, data, limits).await
    }

    /// A server over `store` with `limits`; `data` lives as long as the
    /// server.
    pub async fn start_with_limits(
        store: Arc<dyn Store>,
        data: tempfile::TempDir,
        limits: ServerLimits,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind an ephemeral port");
        let address = listener.local_addr().expect("a local address");
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown_signal = async {
                let _ = stopped.await;
            };
            if let Err(error) =
                newswire::server::run(listener, store, limits, shutdown_signal).await
            {
                panic!("the test server failed: {error:#}");
            }
        });
        Self {
            address,
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

    /// Imports every corpus document through ImportArticles, source = file name.
    pub async fn import_corpus(&self) -> ImportArticlesResponse {
        let requests: Vec<ImportArticlesRequest> = corpus::documents()
            .into_iter()
            .map(|document| ImportArticlesRequest {
                source: document.source,
                item: Some(Item::Document(document.text)),
            })
            .collect();
        self.client()
            .await
            .import_articles(tokio_stream::iter(requests))
            .await
            .expect("import succeeds")
            .into_inner()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
