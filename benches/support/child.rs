//! What every benchmark's server child shares: its runtime, its one line
//! on stdout, the signal to stop (its parent closing stdin), and newswire
//! served the one way the benchmarks serve it.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use newswire::store::Store;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A server child stops by itself after this long, should its parent
/// vanish without closing the pipe.
pub const SERVER_LIFETIME_LIMIT: Duration = Duration::from_secs(30 * 60);

/// Serves newswire over the store `open_store` opens, on `address`,
/// through the library's own `server::serve` with the benchmark configuration,
/// until stdin closes. The store is open before the address is announced,
/// so the parent's clock never runs while it opens.
pub fn serve_newswire(
    address: &str,
    open_store: impl AsyncFnOnce() -> anyhow::Result<Arc<dyn Store>>,
) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let store = open_store().await?;
        let listener = bind(address).await?;
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

/// The runtime of a server child: multi-threaded as in production, its
/// worker count taken from `TOKIO_WORKER_THREADS` (1 under the benchmark).
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("building the server runtime")
}

/// Binds the listener a server child serves on.
pub async fn bind(address: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .with_context(|| format!("binding {address}"))
}

/// Prints the bound address as the child's one line.
pub fn announce(listener: &TcpListener) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", listener.local_addr()?)?;
    stdout.flush()?;
    Ok(())
}

/// Resolves when stdin reaches its end (the parent closed it or died), or
/// after `lifetime_limit`, should the parent vanish without closing it.
pub fn stdin_closed(lifetime_limit: Duration) -> impl Future<Output = ()> + Send + 'static {
    let (closed, on_closed) = oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut sink = [0_u8; 64];
        let mut stdin = std::io::stdin().lock();
        // The parent never writes, so the first read returns at EOF, when
        // it closes the pipe; the bound only guards against a chatty one.
        for _ in 0..1_000_000 {
            if !matches!(stdin.read(&mut sink), Ok(count) if count > 0) {
                break;
            }
        }
        let _ = closed.send(());
    });
    async move {
        let _ = tokio::time::timeout(lifetime_limit, on_closed).await;
    }
}
