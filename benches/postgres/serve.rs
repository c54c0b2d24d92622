//! What the pinned server child runs: newswire over a PostgreSQL database,
//! through the library's own `server::run`, as `serve --database` runs it.
//! It prints its bound address, then serves until its stdin closes.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use newswire::store::postgres::{PostgresOptions, PostgresStore};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A server child stops by itself after this long, should its parent
/// vanish without closing the pipe.
const SERVER_LIFETIME_LIMIT: Duration = Duration::from_secs(30 * 60);

/// `serve-newswire-postgres ADDRESS DATABASE_URL`.
pub fn newswire(arguments: &[String]) -> anyhow::Result<()> {
    let [address, url] = arguments else {
        bail!("usage: serve-newswire-postgres ADDRESS DATABASE_URL");
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("building the server runtime")?
        .block_on(async {
            let store = PostgresStore::connect_with(url, PostgresOptions::default())
                .await
                .context("opening the PostgreSQL store")?;
            let listener = TcpListener::bind(address)
                .await
                .with_context(|| format!("binding {address}"))?;
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{}", listener.local_addr()?)?;
            stdout.flush()?;
            drop(stdout);
            newswire::server::run(
                listener,
                Arc::new(store),
                &crate::settings::benchmark_settings(),
                stdin_closed(),
            )
            .await
        })
}

/// Resolves when stdin reaches its end (the parent closed it or died), or
/// after `SERVER_LIFETIME_LIMIT`.
fn stdin_closed() -> impl Future<Output = ()> + Send + 'static {
    let (closed, on_closed) = oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut sink = [0_u8; 64];
        let mut stdin = std::io::stdin().lock();
        // The parent never writes: the first read returns at EOF.
        while matches!(stdin.read(&mut sink), Ok(count) if count > 0) {}
        let _ = closed.send(());
    });
    async move {
        let _ = tokio::time::timeout(SERVER_LIFETIME_LIMIT, on_closed).await;
    }
}
