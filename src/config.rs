//! The command line and its configuration: flags, each with an environment
//! variable, parsed and validated once at start.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::server::ServerLimits;
use crate::store::postgres::PostgresOptions;

/// newswire: a gRPC content service for news articles.
#[derive(Debug, Parser)]
#[command(name = "newswire", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeConfig),
    /// Import documents (files, directories, or a history .jsonl[.gz]) into a running server.
    Import(ImportConfig),
    /// Write every stored article back as a document into a directory.
    Export(ExportConfig),
    /// Write synthetic articles, drawn from a real corpus' distributions, as
    /// a history file that `import` reads.
    Generate(GenerateConfig),
}

/// Configuration of `newswire serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "NEWSWIRE_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// Directory of the embedded SQLite database (created if missing).
    #[arg(long, env = "NEWSWIRE_DATA", default_value = "./data")]
    pub data: PathBuf,
    /// A database URL; when set it replaces the embedded store.
    /// `sqlite://PATH` names an SQLite file.
    #[arg(long, env = "NEWSWIRE_DATABASE_URL")]
    pub database: Option<String>,
    /// Most PostgreSQL connections this server keeps open (PostgreSQL
    /// store only). Keep the sum over all replicas below the database's
    /// `max_connections`.
    #[arg(long, env = "NEWSWIRE_DATABASE_POOL_SIZE", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub database_pool_size: u16,
    /// Largest gRPC message accepted or sent, in bytes.
    #[arg(long, env = "NEWSWIRE_MAX_MESSAGE_BYTES", default_value_t = 4 * 1024 * 1024,
          value_parser = clap::value_parser!(u32).range(64 * 1024..=64 * 1024 * 1024))]
    pub max_message_bytes: u32,
}

/// Where client commands find the server.
#[derive(Debug, Clone, Args)]
pub struct ServerAddress {
    /// URL of a running newswire server.
    #[arg(
        long = "server",
        env = "NEWSWIRE_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub url: String,
}

/// Configuration of `newswire import`.
#[derive(Debug, Clone, Args)]
pub struct ImportConfig {
    #[command(flatten)]
    pub server: ServerAddress,
    /// Document files, directories of them, or history files (.jsonl, .jsonl.gz).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Do not draw a progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Configuration of `newswire export`.
#[derive(Debug, Clone, Args)]
pub struct ExportConfig {
    #[command(flatten)]
    pub server: ServerAddress,
    /// Directory to write `KEY.md` documents into (created if missing).
    pub directory: PathBuf,
}

/// Most articles one `generate` run writes.
pub const MAX_GENERATE_COUNT: u64 = 100_000_000;

/// Configuration of `newswire generate`.
#[derive(Debug, Clone, Args)]
pub struct GenerateConfig {
    /// How many articles.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_GENERATE_COUNT))]
    pub count: u64,
    /// The seed: the same seed and corpus give the same articles.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Directory of real documents (found as `import` finds them) whose
    /// distributions the articles follow.
    #[arg(long, env = "NEWSWIRE_CORPUS_DIR", default_value = "../shared/corpus")]
    pub corpus: PathBuf,
    /// File to write (`.jsonl`); standard output if absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Which store `serve` uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

impl ServeConfig {
    /// The store the configuration names, or why it names none.
    pub fn store_location(&self) -> anyhow::Result<StoreLocation> {
        match self.database.as_deref() {
            None | Some("") => Ok(StoreLocation::Sqlite(self.data.join("newswire.sqlite3"))),
            Some(url) if url.starts_with("sqlite://") => Ok(StoreLocation::Sqlite(PathBuf::from(
                &url["sqlite://".len()..],
            ))),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(StoreLocation::Postgres(url.to_string()))
            }
            Some(url) => anyhow::bail!(
                "--database / NEWSWIRE_DATABASE_URL: {url:?} is neither sqlite://PATH nor postgres://…"
            ),
        }
    }

    /// How the PostgreSQL store uses its database.
    pub fn postgres_options(&self) -> PostgresOptions {
        PostgresOptions {
            pool_size: usize::from(self.database_pool_size),
            ..PostgresOptions::default()
        }
    }

    /// The server limits the configuration sets.
    pub fn limits(&self) -> ServerLimits {
        ServerLimits {
            max_message_bytes: self.max_message_bytes as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(arguments: &[&str]) -> Result<ServeConfig, clap::Error> {
        let command_line = ["newswire", "serve"].iter().chain(arguments);
        match Cli::try_parse_from(command_line)?.command {
            Command::Serve(config) => Ok(config),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn the_pool_size_flag_reaches_the_postgres_options() {
        let config = serve(&["--database-pool-size", "40"]).expect("a valid size");
        assert_eq!(config.postgres_options().pool_size, 40);
    }

    #[test]
    fn a_pool_size_outside_1_to_1000_is_refused_naming_the_flag() {
        for size in ["0", "1001", "-3", "many"] {
            let error = serve(&[&format!("--database-pool-size={size}")])
                .expect_err("an invalid size is refused")
                .to_string();
            assert!(error.contains("--database-pool-size"), "{size}: {error}");
        }
    }
}
