//! The `newswire` command: parse the command line, load the configuration,
//! set up logging, and hand off to the library.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches};
use newswire::config::{Cli, Command, ConfigCommand, LogFormat, ServeConfig, StoreLocation};
use newswire::settings::{Settings, effective_settings, redacted_toml};
use newswire::store::Store;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    init_logging(cli.log_format);
    match cli.command {
        Command::Serve(mut config) => {
            let flags = matches.subcommand_matches("serve").context("serve flags")?;
            let settings = effective_settings(&mut config, flags)?;
            serve(config, settings).await
        }
        Command::Import(config) => newswire::client::import::run(config).await,
        Command::Export(config) => newswire::client::export::run(config).await,
        Command::Generate(config) => {
            tokio::task::spawn_blocking(move || newswire::synthetic::history::run(config)).await?
        }
        Command::Watch(config) => newswire::client::watch::run(config).await,
        Command::Config(ConfigCommand::Check(mut config)) => {
            let flags = matches
                .subcommand_matches("config")
                .and_then(|config| config.subcommand_matches("check"))
                .context("config check flags")?;
            let settings = effective_settings(&mut config, flags)?;
            config.store_location()?;
            newswire::server::Prepared::new(&settings)?;
            print!("{}", redacted_toml(&settings)?);
            eprintln!("the configuration is valid");
            Ok(())
        }
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

async fn serve(config: ServeConfig, settings: Settings) -> anyhow::Result<()> {
    // Everything the settings name is checked before the store is opened.
    let prepared = newswire::server::Prepared::new(&settings)?
        .with_feed(config.feed_settings())
        .bind_metrics_listener(&settings)
        .await?;
    let mut pool_sampler = None;
    let store: Arc<dyn Store> = match config.store_location()? {
        StoreLocation::Sqlite(path) => newswire::store::open_embedded(&path)
            .with_context(|| format!("cannot open the database {}", path.display()))?,
        StoreLocation::Postgres(url) => {
            let store = Arc::new(
                newswire::store::postgres::PostgresStore::connect_with(
                    &url,
                    config.postgres_options(),
                )
                .await
                .context("cannot open the PostgreSQL database")?,
            );
            if settings.metrics.listen.is_some() {
                pool_sampler = Some(newswire::metrics::sample_pool(store.clone()));
            }
            store
        }
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let shutdown = shutdown_signal()?;
    let served = newswire::server::serve(listener, store, prepared, shutdown).await;
    if let Some(sampler) = pool_sampler {
        sampler.abort();
    }
    served
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
