//! What the pinned children run: the newswire server, the bare baseline
//! server, and the raw SQLite insert baseline. Each prints one line on
//! stdout, then (servers) serves until its stdin closes.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use newswire::proto::GetArticleResponse;
use newswire::proto::article_service_server::ArticleServiceServer;
use newswire::store::sqlite::SqliteStore;
use prost::Message;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;

use super::bare::BareArticleService;
use super::child::{announce, runtime, stdin_closed};
use super::{corpus, raw};

/// A server child stops by itself after this long, should its parent
/// vanish without closing the pipe.
const SERVER_LIFETIME_LIMIT: Duration = Duration::from_secs(15 * 60);

/// `serve-newswire ADDRESS DATA_DIRECTORY`: newswire over the SQLite
/// database in DATA_DIRECTORY, through the library's own `server::serve`, on
/// a listener bound as `src/main.rs` binds it.
pub fn newswire(arguments: &[String]) -> anyhow::Result<()> {
    let [address, data] = arguments else {
        bail!("usage: serve-newswire ADDRESS DATA_DIRECTORY");
    };
    runtime()?.block_on(async {
        let store = newswire::store::open_embedded(&Path::new(data).join("newswire.sqlite3"))
            .context("opening the SQLite store")?;
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("binding {address}"))?;
        announce(&listener)?;
        newswire::server::serve(
            listener,
            store,
            super::settings::benchmark_config(),
            stdin_closed(SERVER_LIFETIME_LIMIT),
        )
        .await
    })
}

/// `serve-bare ADDRESS RESPONSE_FILE`: the bare baseline, answering every
/// GetArticle with the encoded response in RESPONSE_FILE.
pub fn bare(arguments: &[String]) -> anyhow::Result<()> {
    let [address, response_file] = arguments else {
        bail!("usage: serve-bare ADDRESS RESPONSE_FILE");
    };
    let encoded = std::fs::read(response_file).context("reading the fixed response")?;
    let response = GetArticleResponse::decode(encoded.as_slice()).context("decoding it")?;
    runtime()?.block_on(async {
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("binding {address}"))?;
        announce(&listener)?;
        // Accepted as `Server::serve` accepts, with tonic's default
        // `tcp_nodelay(true)`: a bare tonic server as tonic ships it.
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        tonic::transport::Server::builder()
            .add_service(ArticleServiceServer::new(BareArticleService { response }))
            .serve_with_incoming_shutdown(incoming, stdin_closed(SERVER_LIFETIME_LIMIT))
            .await
            .context("serving")
    })
}

/// `raw-insert DATA_DIRECTORY corpus|history one-transaction|like-the-store`:
/// computes every row first, then writes them with rusqlite and prints the
/// nanoseconds that took and the number of items written.
pub fn raw_insert(arguments: &[String]) -> anyhow::Result<()> {
    let [data, input, grouping] = arguments else {
        bail!("usage: raw-insert DATA_DIRECTORY corpus|history one-transaction|like-the-store");
    };
    let grouping = raw::Grouping::parse(grouping)?;
    let documents = match input.as_str() {
        "corpus" => corpus::documents()?,
        "history" => corpus::history()?,
        other => bail!("raw-insert reads corpus or history, not {other:?}"),
    };
    let writes = raw::plan(&documents)?;
    let path = Path::new(data).join("newswire.sqlite3");
    // The store creates the schema; it needs a runtime for its read pool.
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let _entered = runtime.enter();
        let store = SqliteStore::open(&path).context("creating the schema")?;
        drop(store);
    }
    let mut connection = raw::open(&path)?;
    let started = Instant::now();
    raw::write_all(&mut connection, &writes, grouping)?;
    let elapsed = started.elapsed();
    raw::check(&connection, &writes)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{} {}", elapsed.as_nanos(), writes.len())?;
    stdout.flush()?;
    Ok(())
}
