//! The command line and its configuration: flags, each with an environment
//! variable, parsed and validated once at start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::store::Retention;
use crate::store::postgres::PostgresOptions;
use crate::watch::FeedSettings;

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
    /// Write synthetic articles, drawn from a real corpus' distributions, as
    /// a history file that `import` reads.
    Generate(GenerateConfig),
    /// Follow the change feed of a running server, one JSON line per event.
    Watch(WatchConfig),
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
    /// Most PostgreSQL connections this server keeps open (PostgreSQL
    /// store only). Keep the sum over all replicas below the database's
    /// `max_connections`.
    #[arg(long, env = "NEWSWIRE_DATABASE_POOL_SIZE", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub database_pool_size: u16,
    /// Articles each server caches for lookups by id (PostgreSQL store
    /// only; 0: no cache). Exact across replicas: each lookup first checks
    /// the change log, one statement shared by the lookups in flight.
    #[arg(long, env = "NEWSWIRE_DATABASE_READ_CACHE",
          default_value_t = crate::store::postgres::DEFAULT_READ_CACHE_ARTICLES as u32,
          value_parser = clap::value_parser!(u32).range(0..=10_000_000))]
    pub database_read_cache: u32,
    /// Largest gRPC message accepted or sent, in bytes.
    #[arg(long, env = "NEWSWIRE_MAX_MESSAGE_BYTES", default_value_t = 4 * 1024 * 1024,
          value_parser = clap::value_parser!(u32).range(64 * 1024..=64 * 1024 * 1024))]
    pub max_message_bytes: u32,
    /// An idle watch receives a progress event after this long without
    /// events (`500ms`, `10s`, `5m` …); a request may ask for its own.
    #[arg(long, env = "NEWSWIRE_WATCH_PROGRESS_INTERVAL", default_value = "10s",
          value_parser = parse_interval)]
    pub watch_progress_interval: Duration,
    /// Changes a watcher may fall behind the feed before its watch is ended
    /// with RESOURCE_EXHAUSTED (resumable from its last revision). At least
    /// one import batch (`MAX_IMPORT_BATCH` changes, which arrive at once).
    #[arg(long, env = "NEWSWIRE_WATCH_BUFFER", default_value_t = 4096,
          value_parser = clap::value_parser!(u32)
              .range(crate::api::MAX_IMPORT_BATCH as i64..=1_000_000))]
    pub watch_buffer: u32,
    /// The change feed reads the change log at least this often, even when
    /// no commit woke it.
    #[arg(long, env = "NEWSWIRE_WATCH_POLL_INTERVAL", default_value = "1s",
          value_parser = parse_interval)]
    pub watch_poll_interval: Duration,
    /// Change-log entries older than this are compacted away (`0`: no age
    /// limit). Watches cannot resume from before what is kept.
    #[arg(long, env = "NEWSWIRE_CHANGE_LOG_MAX_AGE", default_value = "7d",
          value_parser = parse_duration)]
    pub change_log_max_age: Duration,
    /// Only the newest this many change-log entries are kept (`0`: no
    /// count limit).
    #[arg(long, env = "NEWSWIRE_CHANGE_LOG_MAX_ENTRIES", default_value_t = 0)]
    pub change_log_max_entries: u64,
    /// How often the change log is compacted.
    #[arg(long, env = "NEWSWIRE_CHANGE_LOG_COMPACTION_INTERVAL", default_value = "60s",
          value_parser = parse_interval)]
    pub change_log_compaction_interval: Duration,
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

/// Configuration of `newswire watch`: the filter flags are
/// `ArticleQuery`'s fields, ANDed.
#[derive(Debug, Clone, Args)]
pub struct WatchConfig {
    #[command(flatten)]
    pub server: ServerAddress,
    /// Resume after this revision (the last one received); default: from now.
    #[arg(long = "from", value_name = "REV", conflicts_with = "initial")]
    pub from: Option<i64>,
    /// First print every matching article (INITIAL), then INITIAL_DONE.
    #[arg(long)]
    pub initial: bool,
    /// How often an idle watch prints a PROGRESS line (default: the server's).
    #[arg(long, value_parser = parse_interval)]
    pub progress_interval: Option<Duration>,
    /// Only articles with one of these topics (repeatable).
    #[arg(long)]
    pub topic: Vec<String>,
    /// Only articles whose title or excerpt has these words.
    #[arg(long)]
    pub text: Option<String>,
    /// Only articles with this URL among their four.
    #[arg(long = "url", id = "article_url", value_name = "URL")]
    pub article_url: Option<String>,
    #[arg(long)]
    pub category: Option<String>,
    /// The feed's `type` (`video`, `article` …).
    #[arg(long = "type")]
    pub r#type: Option<String>,
    #[arg(long)]
    pub provider_domain: Option<String>,
    /// `true` or `false`.
    #[arg(long)]
    pub published: Option<bool>,
    #[arg(long)]
    pub min_quality: Option<i32>,
    #[arg(long)]
    pub max_quality: Option<i32>,
    #[arg(long)]
    pub min_heat: Option<i32>,
    #[arg(long)]
    pub max_heat: Option<i32>,
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
            read_cache_articles: self.database_read_cache as usize,
            ..PostgresOptions::default()
        }
    }

    /// The change feed's settings the flags set.
    pub fn feed_settings(&self) -> FeedSettings {
        FeedSettings {
            progress_interval: self.watch_progress_interval,
            watcher_buffer: self.watch_buffer as usize,
            poll_interval: self.watch_poll_interval,
            retention: Retention {
                max_age: (!self.change_log_max_age.is_zero()).then_some(self.change_log_max_age),
                max_entries: (self.change_log_max_entries > 0)
                    .then_some(self.change_log_max_entries),
            },
            compaction_interval: self.change_log_compaction_interval,
        }
    }
}

/// A duration: a whole number and a unit, `ms`, `s`, `m`, `h` or `d`
/// (`500ms`, `10s`, `7d`); `0` alone is zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let digits_end = text
        .find(|character: char| !character.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 500ms, 10s, 5m, 2h or 7d"))?;
    let milliseconds_per_unit = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("{text:?} has no unit: use ms, s, m, h or d")),
    };
    number
        .checked_mul(milliseconds_per_unit)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{text:?} is too long"))
}

/// A duration of at least 10 ms, for timers.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration < Duration::from_millis(10) {
        return Err(format!("{text:?} is shorter than 10ms"));
    }
    Ok(duration)
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
    fn the_read_cache_flag_reaches_the_postgres_options() {
        let default = serve(&[]).expect("the defaults are valid");
        assert_eq!(
            default.postgres_options().read_cache_articles,
            crate::store::postgres::DEFAULT_READ_CACHE_ARTICLES
        );
        let off = serve(&["--database-read-cache", "0"]).expect("0 turns it off");
        assert_eq!(off.postgres_options().read_cache_articles, 0);
        let error = serve(&["--database-read-cache=10000001"])
            .expect_err("a cache beyond 10,000,000 articles is refused")
            .to_string();
        assert!(error.contains("--database-read-cache"), "{error}");
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

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_have_a_unit() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_interval("5ms").is_err());
    }
}
