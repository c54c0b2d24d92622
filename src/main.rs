//! The `newswire` command: parse the command line, load the configuration,
//! set up logging, and hand off to the library.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use newswire::cli::{Cli, Command, ConfigCommand, GenerateArgs, LogFormat};
use newswire::config::{Config, StoreLocation, redacted_toml};
use newswire::store::Store;
use newswire::store::postgres::{PostgresOptions, PostgresStore};
use tracing_subscriber::EnvFilter;

// `database.read_cache`'s documented default is the PostgreSQL store's own.
const _: () = assert!(
    newswire::config::DEFAULT_READ_CACHE_ARTICLES as usize
        == newswire::store::postgres::DEFAULT_READ_CACHE_ARTICLES
);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match cli.command {
        Command::Serve(flags) => serve(flags.config()?).await,
        Command::Import(flags) => newswire::client::import::run(flags).await,
        Command::Export(flags) => newswire::client::export::run(flags).await,
        Command::Generate(flags) => generate(flags).await,
        Command::Watch(flags) => newswire::client::watch::run(flags).await,
        Command::Config(ConfigCommand::Check(flags)) => check(flags.config()?),
        Command::Config(ConfigCommand::HashToken) => hash_token(),
    }
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("NEWSWIRE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// `newswire serve`: everything the configuration names is checked
/// before the store is opened and the listeners bound.
async fn serve(config: Config) -> anyhow::Result<()> {
    newswire::server::check(&config)?;
    let mut pool_sampler = None;
    // Stores are opened with the encoder of this build; one whose kept
    // encodings another wrote re-encodes them before anything is served.
    let encoder = newswire::wire::article_encoder();
    let store: Arc<dyn Store> = match config.server.store_location()? {
        StoreLocation::Sqlite(path) => newswire::store::open_embedded(&path, encoder)
            .with_context(|| format!("cannot open the database {}", path.display()))?,
        StoreLocation::Postgres(url) => {
            let store = Arc::new(
                PostgresStore::connect_with(&url, postgres_options(&config), encoder)
                    .await
                    .context("cannot open the PostgreSQL database")?,
            );
            if config.metrics.listen.is_some() {
                pool_sampler = Some(newswire::metrics::sample_pool(store.clone()));
            }
            store
        }
    };
    let listeners = newswire::server::Listeners::bind(&config).await?;
    let shutdown = shutdown_signal()?;
    let served = newswire::server::serve(listeners, store, config, shutdown).await;
    if let Some(sampler) = pool_sampler {
        sampler.abort();
    }
    served
}

/// `[database]` as the PostgreSQL store takes it.
fn postgres_options(config: &Config) -> PostgresOptions {
    PostgresOptions {
        pool_size: usize::from(config.database.pool_size),
        read_cache_articles: config.database.read_cache as usize,
        ..PostgresOptions::default()
    }
}

/// `newswire config check`: validates as `serve` would, without serving,
/// and prints the effective configuration with secrets redacted.
fn check(config: Config) -> anyhow::Result<()> {
    newswire::server::check(&config)?;
    print!("{}", redacted_toml(&config)?);
    eprintln!("the configuration is valid");
    Ok(())
}

/// `newswire generate`, on a blocking thread (it uses every core).
async fn generate(flags: GenerateArgs) -> anyhow::Result<()> {
    let run = newswire::synthetic::history::HistoryRun {
        corpus: flags.corpus,
        seed: flags.seed,
        count: flags.count,
        out: flags.out,
    };
    tokio::task::spawn_blocking(move || newswire::synthetic::history::run(run)).await?
}

/// `newswire config hash-token`: the SHA-256 of the token on standard input.
fn hash_token() -> anyhow::Result<()> {
    let mut token = String::new();
    std::io::stdin()
        .read_line(&mut token)
        .context("cannot read the token from standard input")?;
    let token = token.trim();
    anyhow::ensure!(!token.is_empty(), "no token on standard input");
    if token.len() < 32 {
        eprintln!(
            "warning: a token should be at least 32 random characters \
             (e.g. `openssl rand -hex 32`)"
        );
    }
    println!("{}", newswire::auth::tokens::hash_token(token));
    Ok(())
}

/// Registers for SIGINT and SIGTERM at once, so a signal that arrives
/// while the server starts is not lost (tokio's handlers only exist from
/// their registration on), and resolves on the first of them.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutting down");
    })
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
}
