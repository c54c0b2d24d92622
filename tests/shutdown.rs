//! Graceful shutdown of the library's server: on the signal it stops
//! accepting connections, lets an in-flight call finish, and returns; a
//! call that outlives the grace period is cut and the server returns
//! anyway. (`tests/cli.rs` checks the process exits 0 on SIGTERM.)

mod support;

use std::time::{Duration, Instant};

use newswire::proto::article_service_client::ArticleServiceClient;
use newswire::proto::{ImportArticlesRequest, ListArticlesRequest, import_articles_request::Item};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

/// Conditions are awaited this long at most.
const DEADLINE: Duration = Duration::from_secs(60);

/// A server task, its address, and the trigger of its shutdown.
struct Running {
    address: std::net::SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _data: tempfile::TempDir,
}

async fn start(grace_period_seconds: u64) -> Running {
    let data = tempfile::tempdir().expect("a temporary directory");
    let store = newswire::store::open_embedded(
        &data.path().join("newswire.sqlite3"),
        newswire::wire::article_encoder(),
    )
    .expect("the store opens");
    let mut config = support::server::anonymous_config();
    config.shutdown.grace_period_seconds = grace_period_seconds;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("an address");
    let (shutdown, signal) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        newswire::server::serve(listener, store, config, async {
            let _ = signal.await;
        })
        .await
    });
    Running {
        address,
        shutdown,
        task,
        _data: data,
    }
}

async fn channel(address: std::net::SocketAddr) -> Result<Channel, tonic::transport::Error> {
    Channel::from_shared(format!("http://{address}"))
        .expect("a URL")
        .connect()
        .await
}

/// Waits until the import's first document is stored: the server then
/// holds the call, whose stream is still open. (Before that, the request
/// may not have reached the server at all.)
async fn wait_until_the_first_is_stored(address: std::net::SocketAddr) {
    let mut reader = ArticleServiceClient::new(channel(address).await.expect("connects"));
    let started = Instant::now();
    loop {
        let page = reader
            .list_articles(ListArticlesRequest::default())
            .await
            .expect("the server lists")
            .into_inner();
        if !page.articles.is_empty() {
            return;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "the first document was never stored"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn documents() -> Vec<ImportArticlesRequest> {
    support::corpus::documents()
        .into_iter()
        .take(20)
        .map(|document| ImportArticlesRequest {
            source: document.source,
            item: Some(Item::Document(document.text)),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_flight_call_finishes_and_new_connections_are_refused() {
    let server = start(60).await;
    let mut client = ArticleServiceClient::new(channel(server.address).await.expect("connects"));
    let (sender, receiver) = mpsc::channel(64);
    let import =
        tokio::spawn(async move { client.import_articles(ReceiverStream::new(receiver)).await });
    let mut documents = documents().into_iter();
    sender
        .send(documents.next().expect("a document"))
        .await
        .expect("the import is open");
    wait_until_the_first_is_stored(server.address).await;

    server.shutdown.send(()).expect("the server runs");
    // The listener closes: new connections fail.
    let started = Instant::now();
    while channel(server.address).await.is_ok() {
        assert!(started.elapsed() < DEADLINE, "still accepting connections");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!server.task.is_finished(), "returned with a call in flight");

    // The import in flight is finished and answered in full.
    for document in documents {
        sender
            .send(document)
            .await
            .expect("the import is still open");
    }
    drop(sender);
    let summary = import
        .await
        .expect("the import task")
        .expect("the in-flight import succeeds")
        .into_inner();
    assert_eq!(summary.created, 20, "{summary:?}");
    tokio::time::timeout(DEADLINE, server.task)
        .await
        .expect("the server returns once the call is done")
        .expect("the server task")
        .expect("the server stops without error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_outliving_the_grace_period_is_cut() {
    let server = start(1).await;
    let mut client = ArticleServiceClient::new(channel(server.address).await.expect("connects"));
    let (sender, receiver) = mpsc::channel(64);
    let import =
        tokio::spawn(async move { client.import_articles(ReceiverStream::new(receiver)).await });
    sender
        .send(documents().remove(0))
        .await
        .expect("the import is open");
    wait_until_the_first_is_stored(server.address).await;
    server.shutdown.send(()).expect("the server runs");
    // The import never ends by itself; the grace period ends it.
    tokio::time::timeout(DEADLINE, server.task)
        .await
        .expect("the server returns after its grace period")
        .expect("the server task")
        .expect("the server stops without error");
    let outcome = tokio::time::timeout(DEADLINE, import)
        .await
        .expect("the cut call ends")
        .expect("the import task");
    assert!(outcome.is_err(), "a cut import cannot succeed: {outcome:?}");
    drop(sender);
}
