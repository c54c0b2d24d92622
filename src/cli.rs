//! The command line: the commands and their flags, each flag with its
//! environment variable. `serve`'s flags are the top layers of `Config`
//! (`ServeArgs::config`); the client commands and `generate` take theirs
//! as they are.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::duration::{parse_duration, parse_interval};
use crate::config::{
    Config, MESSAGE_BYTES_RANGE, POOL_SIZE_RANGE, READ_CACHE_RANGE, WATCH_BUFFER_RANGE,
};

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
    Serve(ServeArgs),
    /// Import documents (files, directories, or a history .jsonl[.gz]) into a running server.
    Import(ImportArgs),
    /// Write every stored article back as a document into a directory.
    Export(ExportArgs),
    /// Write synthetic articles, drawn from a real corpus' distributions, as
    /// a history file that `import` reads.
    Generate(GenerateArgs),
    /// Follow the change feed of a running server, one JSON line per event.
    Watch(WatchArgs),
    /// Check a configuration file, or hash a token for one.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// `newswire config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration (file, environment and flags, as `serve`
    /// would take them) and print it with secrets redacted.
    Check(Box<ServeArgs>),
    /// Print the SHA-256 of a token read from standard input, for
    /// `auth.callers[].token_sha256`.
    HashToken,
}

/// The flags of `newswire serve` (and `config check`), each with its
/// environment variable: the top layers of the configuration. A flag left
/// out (and its variable unset) leaves the file's value or the default,
/// which `Config` documents.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Configuration file (TOML); the environment and flags override it.
    #[arg(long, env = "NEWSWIRE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Let callers without credentials do everything. For local development
    /// only: logged as a warning.
    #[arg(long)]
    pub insecure_allow_anonymous: bool,
    /// Address to listen on [default: 127.0.0.1:50051].
    #[arg(long, env = "NEWSWIRE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory of the embedded SQLite database, created if missing
    /// [default: ./data].
    #[arg(long, env = "NEWSWIRE_DATA")]
    pub data: Option<PathBuf>,
    /// A database URL; when set it replaces the embedded store.
    /// `sqlite://PATH` names an SQLite file.
    #[arg(long, env = "NEWSWIRE_DATABASE_URL")]
    pub database: Option<String>,
    /// Most PostgreSQL connections this server keeps open (PostgreSQL
    /// store only). Keep the sum over all replicas below the database's
    /// `max_connections` [default: 16].
    #[arg(long, env = "NEWSWIRE_DATABASE_POOL_SIZE",
          value_parser = clap::value_parser!(u16)
              .range(*POOL_SIZE_RANGE.start() as i64..=*POOL_SIZE_RANGE.end() as i64))]
    pub database_pool_size: Option<u16>,
    /// Articles each server caches for lookups by id (PostgreSQL store
    /// only; 0: no cache). Exact across replicas: each lookup first checks
    /// the change log, one statement shared by the lookups in flight
    /// [default: 50000].
    #[arg(long, env = "NEWSWIRE_DATABASE_READ_CACHE",
          value_parser = clap::value_parser!(u32)
              .range(*READ_CACHE_RANGE.start() as i64..=*READ_CACHE_RANGE.end() as i64))]
    pub database_read_cache: Option<u32>,
    /// Largest gRPC message accepted or sent, in bytes [default: 4194304].
    #[arg(long, env = "NEWSWIRE_MAX_MESSAGE_BYTES",
          value_parser = clap::value_parser!(u32)
              .range(*MESSAGE_BYTES_RANGE.start() as i64..=*MESSAGE_BYTES_RANGE.end() as i64))]
    pub max_message_bytes: Option<u32>,
    /// An idle watch receives a progress event after this long without
    /// events (`500ms`, `10s`, `5m` …); a request may ask for its own
    /// [default: 10s].
    #[arg(long, env = "NEWSWIRE_WATCH_PROGRESS_INTERVAL", value_parser = parse_interval)]
    pub watch_progress_interval: Option<Duration>,
    /// Changes a watcher may fall behind the feed before its watch is ended
    /// with RESOURCE_EXHAUSTED (resumable from its last revision). At least
    /// one import batch (1024 changes, which arrive at once) [default: 4096].
    #[arg(long, env = "NEWSWIRE_WATCH_BUFFER",
          value_parser = clap::value_parser!(u32)
              .range(*WATCH_BUFFER_RANGE.start() as i64..=*WATCH_BUFFER_RANGE.end() as i64))]
    pub watch_buffer: Option<u32>,
    /// The change feed reads the change log at least this often, even when
    /// no commit woke it [default: 1s].
    #[arg(long, env = "NEWSWIRE_WATCH_POLL_INTERVAL", value_parser = parse_interval)]
    pub watch_poll_interval: Option<Duration>,
    /// Change-log entries older than this are compacted away (`0`: no age
    /// limit). Watches cannot resume from before what is kept [default: 7d].
    #[arg(long, env = "NEWSWIRE_CHANGE_LOG_MAX_AGE", value_parser = parse_duration)]
    pub change_log_max_age: Option<Duration>,
    /// Only the newest this many change-log entries are kept (`0`: no
    /// count limit) [default: 0].
    #[arg(long, env = "NEWSWIRE_CHANGE_LOG_MAX_ENTRIES")]
    pub change_log_max_entries: Option<u64>,
    /// How often the change log is compacted [default: 60s].
    #[arg(long, env = "NEWSWIRE_CHANGE_LOG_COMPACTION_INTERVAL", value_parser = parse_interval)]
    pub change_log_compaction_interval: Option<Duration>,
}

impl ServeArgs {
    /// The effective configuration: the defaults, under the file
    /// `--config` names (if any), under the environment and the flags;
    /// validated.
    pub fn config(&self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        self.override_file(&mut config);
        config.validate()?;
        Ok(config)
    }

    /// Sets every key whose flag or variable was given.
    fn override_file(&self, config: &mut Config) {
        fn set<T: Clone>(key: &mut T, given: &Option<T>) {
            if let Some(value) = given {
                *key = value.clone();
            }
        }
        set(&mut config.server.listen, &self.listen);
        set(&mut config.server.data, &self.data);
        if self.database.is_some() {
            config.server.database = self.database.clone();
        }
        set(
            &mut config.server.max_message_bytes,
            &self.max_message_bytes,
        );
        set(&mut config.database.pool_size, &self.database_pool_size);
        set(&mut config.database.read_cache, &self.database_read_cache);
        set(
            &mut config.watch.progress_interval,
            &self.watch_progress_interval,
        );
        set(&mut config.watch.buffer, &self.watch_buffer);
        set(&mut config.watch.poll_interval, &self.watch_poll_interval);
        set(&mut config.change_log.max_age, &self.change_log_max_age);
        set(
            &mut config.change_log.max_entries,
            &self.change_log_max_entries,
        );
        set(
            &mut config.change_log.compaction_interval,
            &self.change_log_compaction_interval,
        );
        if self.insecure_allow_anonymous {
            config.allow_anonymous();
        }
    }
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

/// The flags of `newswire import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub server: ServerAddress,
    /// Document files, directories of them, or history files (.jsonl, .jsonl.gz).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Do not draw a progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// The flags of `newswire export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub server: ServerAddress,
    /// Directory to write `KEY.md` documents into (created if missing).
    pub directory: PathBuf,
}

/// Most articles one `generate` run writes.
pub const MAX_GENERATE_COUNT: u64 = 100_000_000;

/// The flags of `newswire generate`.
#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
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

/// The flags of `newswire watch`: the filter flags are
/// `ArticleQuery`'s fields, ANDed.
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(arguments: &[&str]) -> Result<ServeArgs, clap::Error> {
        let command_line = ["newswire", "serve"].iter().chain(arguments);
        match Cli::try_parse_from(command_line)?.command {
            Command::Serve(flags) => Ok(flags),
            other => panic!("parsed as {other:?}"),
        }
    }

    fn config(arguments: &[&str]) -> Config {
        serve(arguments)
            .expect("valid flags")
            .config()
            .expect("a valid configuration")
    }

    #[test]
    fn the_database_flags_reach_the_configuration() {
        assert_eq!(
            config(&["--database-pool-size", "40"]).database.pool_size,
            40
        );
        assert_eq!(
            config(&[]).database.read_cache,
            crate::config::DEFAULT_READ_CACHE_ARTICLES
        );
        assert_eq!(
            config(&["--database-read-cache", "0"]).database.read_cache,
            0
        );
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
    fn a_flag_wins_over_the_file_and_the_file_over_the_default() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let file = directory.path().join("newswire.toml");
        std::fs::write(
            &file,
            "[server]\nlisten = \"127.0.0.1:6000\"\nmax_message_bytes = 131072\n\
             [watch]\nbuffer = 2048\n",
        )
        .expect("write the file");
        let file = file.display().to_string();
        let layered = config(&["--config", &file, "--watch-buffer", "8192"]);
        assert_eq!(layered.server.listen.to_string(), "127.0.0.1:6000");
        assert_eq!(layered.server.max_message_bytes, 131_072);
        assert_eq!(layered.watch.buffer, 8192);
        assert_eq!(layered.watch.poll_interval, Duration::from_secs(1));
    }

    #[test]
    fn a_file_value_out_of_range_is_refused_naming_the_key() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let file = directory.path().join("newswire.toml");
        std::fs::write(&file, "[server]\nmax_message_bytes = 10\n").expect("write the file");
        let error = serve(&["--config", &file.display().to_string()])
            .expect("valid flags")
            .config()
            .expect_err("refused")
            .to_string();
        assert!(error.contains("server.max_message_bytes"), "{error}");
    }

    #[test]
    fn the_anonymous_opt_in_grants_every_scope() {
        let config = config(&["--insecure-allow-anonymous"]);
        assert_eq!(config.auth.anonymous_scopes.len(), 3);
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
