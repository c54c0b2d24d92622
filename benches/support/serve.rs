//! What the service benchmark's own pinned children run: the bare
//! baseline server and the raw SQLite insert baseline. (newswire itself is
//! `sqlite_server.rs`.) Each prints one line on stdout, then (the server)
//! serves until its stdin closes.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use newswire::proto::GetArticleResponse;
use newswire::store::sqlite::SqliteStore;
use prost::Message;

use super::bare::BareArticleService;
use super::{bare_server, corpus, raw};

/// `serve-bare ADDRESS RESPONSE_FILE`: the bare baseline, answering every
/// GetArticle with the encoded response in RESPONSE_FILE.
pub fn bare(arguments: &[String]) -> anyhow::Result<()> {
    let [address, response_file] = arguments else {
        bail!("usage: serve-bare ADDRESS RESPONSE_FILE");
    };
    let encoded = std::fs::read(response_file).context("reading the fixed response")?;
    let response = GetArticleResponse::decode(encoded.as_slice()).context("decoding it")?;
    bare_server::serve(address, BareArticleService { response })
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
        let store = SqliteStore::open(&path, newswire::wire::article_encoder())
            .context("creating the schema")?;
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
