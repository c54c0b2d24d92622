//! What the pinned server child runs: newswire over a PostgreSQL database,
//! through the library's own `server::run`, as `serve --database` runs it.
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

/// `serve-newswire-postgres ADDRESS DATABASE_URL`.
pub fn newswire(arguments: &[String]) -> anyhow::Result<()> {
    let [address, url] = arguments else {
        bail!("usage: serve-newswire-postgres ADDRESS DATABASE_URL");
    };
    runtime()?.block_on(async {
        let store = PostgresStore::connect_with(url, PostgresOptions::default())
            .await
            .context("opening the PostgreSQL store")?;
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("binding {address}"))?;
        announce(&listener)?;
        newswire::server::run(
            listener,
            Arc::new(store),
            &crate::settings::benchmark_settings(),
            stdin_closed(SERVER_LIFETIME_LIMIT),
        )
        .await
    })
}
