//! The `newswire` command: parse the command line, set up logging, and hand
//! off to the library.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use newswire::config::{Cli, Command, ServeConfig, StoreLocation};
use newswire::store::Store;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("NEWSWIRE_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match cli.command {
        Command::Serve(config) => serve(config).await,
        Command::Import(config) => newswire::client::import::run(config).await,
        Command::Export(config) => newswire::client::export::run(config).await,
        Command::Generate(config) => {
            tokio::task::spawn_blocking(move || newswire::synthetic::history::run(config)).await?
        }
        Command::Watch(config) => newswire::client::watch::run(config).await,
    }
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = match config.store_location()? {
        StoreLocation::Sqlite(path) => newswire::store::open_embedded(&path)
            .with_context(|| format!("cannot open the database {}", path.display()))?,
        StoreLocation::Postgres(url) => Arc::new(
            newswire::store::postgres::PostgresStore::connect_with(&url, config.postgres_options())
                .await
                .context("cannot open the PostgreSQL database")?,
        ),
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    newswire::server::run(listener, store, config.limits(), shutdown_signal()).await
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(error) => {
                    tracing::error!(%error, "cannot listen for SIGTERM");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down");
}
