//! SQLite's stored encodings follow the encoder: a database written by a
//! build from before a field was added to `newswire.v1.Article` is
//! re-encoded at start-up, before anything is served, so StreamArticles
//! sends the field as GetArticle and ListArticles do; a re-encoding killed
//! half way (a real `kill -9` of `newswire serve`) resumes at the next
//! start. The PostgreSQL counterpart is `encoding_version_postgres`.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use newswire::proto::article_service_client::ArticleServiceClient;
use newswire::query::{ArticleQuery, Order, PageRequest, PageSize};
use newswire::store::sqlite::SqliteStore;
use newswire::store::{ArticleEncoder, Store};
use newswire::wire::{ProstArticleEncoder, article_encoder};
use prost::Message;
use support::encoding::{
    BEFORE_ETAG_FINGERPRINT, EncoderBeforeEtag, assert_reads_agree, write_corpus_copies,
};
use support::server::TestServer;

/// Opens the SQLite store at `path` with `encoder`, off the runtime.
async fn open(path: &Path, encoder: Arc<dyn ArticleEncoder>) -> SqliteStore {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || SqliteStore::open(&path, encoder))
        .await
        .expect("the open task")
        .expect("the store opens")
}

/// The first page of every article, newest first.
fn first_page() -> PageRequest {
    PageRequest {
        query: ArticleQuery::default(),
        order: Order::parse("").expect("the default order"),
        size: PageSize::parse(100).expect("a page size"),
        after: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_added_to_the_article_reaches_every_stored_encoding() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let path = data.path().join("newswire.sqlite3");
    let old_build = open(&path, Arc::new(EncoderBeforeEtag)).await;
    let count = write_corpus_copies(&old_build, 1).await;
    // What the defect served: encodings without the field.
    let stale = old_build.list_encoded(&first_page()).await.expect("a page");
    let stale =
        newswire::proto::Article::decode(stale.articles[0].encoded.as_slice()).expect("an Article");
    assert!(stale.etag.is_empty(), "the old build's encoding lacks etag");
    drop(old_build);

    // The new build, as `serve` opens it, behind a real server.
    let store_path = path.clone();
    let store = tokio::task::spawn_blocking(move || {
        newswire::store::open_embedded(&store_path, article_encoder())
    })
    .await
    .expect("the open task")
    .expect("the store opens");
    let server = TestServer::start_with(store, data).await;
    assert_reads_agree(server.client().await, count, 1).await;
    assert_eq!(
        encoding_state(&path),
        (ProstArticleEncoder.fingerprint(), None, 0)
    );
}

/// Copies of the corpus the killed test writes: about 15,000 articles, 15
/// batches of re-encoding, so a kill after the first lands half way.
const COPIES: usize = 20;

#[test]
fn a_reencoding_killed_half_way_resumes_at_the_next_start() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let path = data.path().join("newswire.sqlite3");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let count = runtime.block_on(async {
        let old_build = open(&path, Arc::new(EncoderBeforeEtag)).await;
        write_corpus_copies(&old_build, COPIES).await
    });

    // The new build starts, re-encodes its first batch, and is killed.
    let mut first = Serve::start(data.path());
    let progress = first.wait_for("first progress line", |line| {
        line.contains("re-encoding stored articles") && done_of(line).is_some_and(|done| done > 0)
    });
    first.kill();
    let (fingerprint, reencoding_to, reencoded_through) = encoding_state(&path);
    assert_eq!(
        fingerprint, BEFORE_ETAG_FINGERPRINT,
        "killed after {progress:?}, yet the new encoder was recorded"
    );
    assert_eq!(reencoding_to, Some(ProstArticleEncoder.fingerprint()));
    assert!(
        reencoded_through > 0 && (reencoded_through as usize) < count,
        "half way: through seq {reencoded_through} of {count}"
    );

    // The next start resumes there and serves current encodings only.
    let mut second = Serve::start(data.path());
    let resumed = second.wait_for("the re-encoding's start", |line| {
        line.contains("the article encoder changed")
    });
    let done = done_of(&resumed).expect("the start line says done=");
    assert!(
        done >= 1000,
        "resumed with {done} articles already done: {resumed}"
    );
    let listening = second.wait_for("the listening address", |line| line.contains("address="));
    let address = listening
        .split("address=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("an address")
        .to_string();
    runtime.block_on(async {
        let client = ArticleServiceClient::connect(format!("http://{address}"))
            .await
            .expect("connect")
            .max_decoding_message_size(64 * 1024 * 1024);
        assert_reads_agree(client, count, 97).await;
    });
    second.kill();
    assert_eq!(
        encoding_state(&path),
        (ProstArticleEncoder.fingerprint(), None, 0)
    );
}

/// `article_encoding`'s row: fingerprint, re-encoding target, progress.
fn encoding_state(path: &Path) -> (String, Option<String>, i64) {
    let connection = rusqlite::Connection::open(path).expect("the database opens");
    connection
        .query_row(
            "SELECT fingerprint, reencoding_to, reencoded_through FROM article_encoding",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .expect("the encoder's row")
}

/// The `done=` of a progress line.
fn done_of(line: &str) -> Option<usize> {
    line.split("done=")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `newswire serve` over a data directory, its log read line by line.
struct Serve {
    child: Child,
    lines: Receiver<String>,
}

impl Serve {
    fn start(data: &Path) -> Self {
        let development = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/development.toml");
        let mut child = Command::new(support::process::binary())
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(development)
            .arg("--insecure-allow-anonymous")
            .arg("--data")
            .arg(data)
            .env("NEWSWIRE_LOG", "info")
            .env_remove("NEWSWIRE_DATABASE_URL")
            .env_remove("NEWSWIRE_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        Self { child, lines }
    }

    /// The first log line from now on that `wanted` accepts, within 120 s.
    fn wait_for(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if wanted(&line) => return line,
                Ok(_) => {}
                Err(_) => panic!("newswire serve logged no {what} within 120 s"),
            }
        }
    }

    /// `kill -9`, and waits for the process to be gone.
    fn kill(&mut self) {
        self.child.kill().expect("the kill");
        self.child.wait().expect("the process ends");
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
