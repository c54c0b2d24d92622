//! The command line and its configuration: flags, each with an environment
//! variable, parsed and validated once at start.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::server::ServerLimits;

/// newswire: a gRPC content service for news articles.
#[derive(Debug, Parser)]
#[command(name = "newswire", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log lines as human-readable text or as JSON objects.
    #[arg(
        long,
        global = true,
        env = "NEWSWIRE_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: LogFormat,
}

/// How log lines are written (stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
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
    /// Check a configuration file, or hash a token for one.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// `newswire config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration (file, environment and flags, as `serve`
    /// would take them) and print it with secrets redacted.
    Check(ServeConfig),
    /// Print the SHA-256 of a token read from standard input, for
    /// `auth.callers[].token_sha256`.
    HashToken,
}

/// Configuration of `newswire serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Configuration file (TOML); flags and environment variables override it.
    #[arg(long, env = "NEWSWIRE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Let callers without credentials do everything. For local development
    /// only: logged as a warning.
    #[arg(long)]
    pub insecure_allow_anonymous: bool,
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
    /// Bearer token to present (see the server's `auth.callers`).
    #[arg(long, env = "NEWSWIRE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// PEM CA certificate that signs the server's certificate, for
    /// `https://` servers with a private CA.
    #[arg(long, env = "NEWSWIRE_CA_FILE")]
    pub ca_file: Option<PathBuf>,
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

    /// The server limits the configuration sets.
    pub fn limits(&self) -> ServerLimits {
        ServerLimits {
            max_message_bytes: self.max_message_bytes as usize,
        }
    }
}
