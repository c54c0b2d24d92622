//! Observability: Prometheus metrics on the separate admin listener
//! (requests by method and code, latency histograms, in-flight calls,
//! import counters, the store's revision), and JSON logs on request.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use newswire::proto::article_service_client::ArticleServiceClient;
use newswire::proto::{
    GetArticleRequest, ImportArticlesRequest, ListArticlesRequest, WatchArticlesRequest,
    get_article_request, import_articles_request::Item,
};
use support::secure_server::{READER_TOKEN, SecureServer, WRITER_TOKEN};

/// Conditions are awaited this long at most.
const DEADLINE: Duration = Duration::from_secs(60);

/// `GET /metrics` over plain HTTP/1.0; the body.
fn scrape(address: SocketAddr) -> String {
    let mut stream = TcpStream::connect(address).expect("the admin listener accepts");
    stream
        .set_read_timeout(Some(DEADLINE))
        .expect("a read timeout");
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: newswire\r\n\r\n")
        .expect("send the request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the response");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    body.to_string()
}

/// The value of the sample whose line starts with `series` (name and labels).
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

fn with_token<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {READER_TOKEN}")
            .parse()
            .expect("a header value"),
    );
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_calls_by_method_and_code_on_the_admin_listener() {
    let fixture = SecureServer::start_with(|settings| {
        settings.metrics.listen = Some("127.0.0.1:0".parse().expect("an address"));
    })
    .await;
    let admin = fixture.server.metrics_address.expect("an admin listener");
    assert_ne!(
        admin,
        fixture.server.address(),
        "metrics are not on the gRPC port"
    );
    let mut client = ArticleServiceClient::new(fixture.channel(None).await.expect("TLS"));
    for _ in 0..3 {
        client
            .list_articles(with_token(ListArticlesRequest::default()))
            .await
            .expect("the reader lists");
    }
    let missing = client
        .get_article(with_token(GetArticleRequest {
            lookup: Some(get_article_request::Lookup::Key("no-such-article".into())),
        }))
        .await
        .expect_err("no such article");
    assert_eq!(missing.code(), tonic::Code::NotFound);
    client
        .list_articles(ListArticlesRequest::default())
        .await
        .expect_err("no credentials");
    let document = support::corpus::documents().remove(0);
    let mut import = tonic::Request::new(tokio_stream::iter([ImportArticlesRequest {
        source: document.source,
        item: Some(Item::Document(document.text)),
    }]));
    import.metadata_mut().insert(
        "authorization",
        format!("Bearer {WRITER_TOKEN}")
            .parse()
            .expect("a header value"),
    );
    let summary = client
        .import_articles(import)
        .await
        .expect("the writer imports")
        .into_inner();
    assert_eq!(summary.created, 1);

    // The recorder is per process and other tests in this binary may call
    // too: counts are at least ours.
    // The revision is sampled in the background: wait for its first sample.
    let started = Instant::now();
    let metrics = loop {
        let metrics = tokio::task::spawn_blocking(move || scrape(admin))
            .await
            .expect("scrape");
        if metrics.contains("newswire_revision") || started.elapsed() > DEADLINE {
            break metrics;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let list_ok =
        "newswire_requests_total{method=\"newswire.v1.ArticleService/ListArticles\",code=\"OK\"}";
    assert!(
        sample(&metrics, list_ok).is_some_and(|count| count >= 3.0),
        "{metrics}"
    );
    let not_found = "newswire_requests_total{method=\"newswire.v1.ArticleService/GetArticle\",code=\"NOT_FOUND\"}";
    assert!(
        sample(&metrics, not_found).is_some_and(|count| count >= 1.0),
        "{metrics}"
    );
    let refused = "newswire_requests_total{method=\"newswire.v1.ArticleService/ListArticles\",code=\"UNAUTHENTICATED\"}";
    assert!(
        sample(&metrics, refused).is_some_and(|count| count >= 1.0),
        "{metrics}"
    );
    let histogram = "newswire_request_duration_seconds_bucket{method=\"newswire.v1.ArticleService/ListArticles\",le=\"+Inf\"}";
    assert!(
        sample(&metrics, histogram).is_some_and(|count| count >= 3.0),
        "{metrics}"
    );
    let imported = "newswire_import_items_total{outcome=\"created\"}";
    assert!(
        sample(&metrics, imported).is_some_and(|count| count >= 1.0),
        "{metrics}"
    );
    assert!(metrics.contains("newswire_requests_in_flight"), "{metrics}");
    assert!(metrics.contains("newswire_revision"), "{metrics}");

    // An open watch is counted, and uncounted once its client leaves; the
    // hub reports its slowest watcher's lag.
    let watch = client
        .watch_articles(with_token(WatchArticlesRequest::default()))
        .await
        .expect("the reader watches")
        .into_inner();
    let watchers = |wanted: f64| async move {
        let started = Instant::now();
        loop {
            let metrics = tokio::task::spawn_blocking(move || scrape(admin))
                .await
                .expect("scrape");
            if sample(&metrics, "newswire_watchers ") == Some(wanted)
                && metrics.contains("newswire_consumer_lag_revisions ")
            {
                return;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "newswire_watchers never became {wanted}: {metrics}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    watchers(1.0).await;
    drop(watch);
    watchers(0.0).await;
}

#[test]
fn json_logs_on_request() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let development =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/development.toml");
    let mut child = Command::new(support::process::binary())
        .args([
            "--log-format",
            "json",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--config",
        ])
        .arg(development)
        .arg("--data")
        .arg(data.path())
        .env("NEWSWIRE_LOG", "info")
        .env_remove("NEWSWIRE_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stderr = child.stderr.take().expect("piped");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let started = Instant::now();
    let serving = loop {
        let line = receiver
            .recv_timeout(DEADLINE.saturating_sub(started.elapsed()))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("no `newswire serving` line within {DEADLINE:?}")
            });
        let value: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|error| panic!("not a JSON log line ({error}): {line}"));
        if value["message"] == "newswire serving" {
            break value;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        serving["address"]
            .as_str()
            .is_some_and(|address| address.starts_with("127.0.0.1:"))
    );
    assert_eq!(serving["level"], "INFO");
}
