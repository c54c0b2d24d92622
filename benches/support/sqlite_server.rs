//! newswire over SQLite in a server child, as the service and streams
//! benchmarks start it: `serve-newswire ADDRESS DATA_DIRECTORY`.

use std::path::Path;

use anyhow::{Context, bail};

use super::child::serve_newswire;

/// `serve-newswire ADDRESS DATA_DIRECTORY`: newswire over the SQLite
/// database in DATA_DIRECTORY (created if new), opened as `serve` opens it
/// (`store::open_embedded`).
pub fn serve(arguments: &[String]) -> anyhow::Result<()> {
    let [address, data] = arguments else {
        bail!("usage: serve-newswire ADDRESS DATA_DIRECTORY");
    };
    serve_newswire(address, async || {
        newswire::store::open_embedded(
            &Path::new(data).join("newswire.sqlite3"),
            newswire::wire::article_encoder(),
        )
        .context("opening the SQLite store")
    })
}
