//! What the pinned server child runs: newswire over a PostgreSQL database,
//! through the library's own `server::serve`, as `serve --database` runs it.
//! It prints its bound address, then serves until its stdin closes.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use newswire::store::postgres::{PostgresOptions, PostgresStore};
use tokio::net::TcpListener;

use crate::child::{announce, runtime, stdin_closed};

/// A server child stops by itself after this long, should its parent
/// vanish without closing the pipe.
const SERVER_LIFETIME_LIMIT: Duration = Duration::from_secs(30 * 60);

/// `serve-newswire-postgres ADDRESS DATABASE_URL [READ_CACHE_ARTICLES]`:
/// the store's default options, or a read cache of that many articles (0:
/// none).
pub fn newswire(arguments: &[String]) -> anyhow::Result<()> {
    let (address, url, options) = match arguments {
        [address, url] => (address, url, PostgresOptions::default()),
        [address, url, cache] => (
            address,
            url,
            PostgresOptions {
                read_cache_articles: cache
                    .parse()
                    .with_context(|| format!("{cache:?} is not a count of articles"))?,
                ..PostgresOptions::default()
            },
        ),
        _ => bail!("usage: serve-newswire-postgres ADDRESS DATABASE_URL [READ_CACHE_ARTICLES]"),
    };
    runtime()?.block_on(async {
        let store = PostgresStore::connect_with(url, options)
            .await
            .context("opening the PostgreSQL store")?;
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("binding {address}"))?;
        announce(&listener)?;
        newswire::server::serve(
            listener,
            Arc::new(store),
            crate::settings::benchmark_config(),
            stdin_closed(SERVER_LIFETIME_LIMIT),
        )
        .await
    })
}
