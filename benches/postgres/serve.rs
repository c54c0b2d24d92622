//! What the pinned server child runs: newswire over a PostgreSQL database,
//! as `serve --database` runs it (`child::serve_newswire`).

use std::sync::Arc;

use anyhow::{Context, bail};
use newswire::store::Store;
use newswire::store::postgres::{PostgresOptions, PostgresStore};

use crate::child::serve_newswire;

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
    serve_newswire(address, async || {
        let store = PostgresStore::connect_with(url, options, newswire::wire::article_encoder())
            .await
            .context("opening the PostgreSQL store")?;
        let store: Arc<dyn Store> = Arc::new(store);
        Ok(store)
    })
}
