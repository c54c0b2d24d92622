//! `[server]` (where to listen, which store, message size) and
//! `[database]` (how the PostgreSQL store uses its database).

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Allowed `server.max_message_bytes` (`--max-message-bytes`).
pub const MESSAGE_BYTES_RANGE: RangeInclusive<u32> = 64 * 1024..=64 * 1024 * 1024;
/// Allowed `database.pool_size` (`--database-pool-size`).
pub const POOL_SIZE_RANGE: RangeInclusive<u16> = 1..=1000;
/// Allowed `database.read_cache` (`--database-read-cache`).
pub const READ_CACHE_RANGE: RangeInclusive<u32> = 0..=10_000_000;

/// The gRPC listener and the store.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address of the gRPC listener (`--listen`, `NEWSWIRE_LISTEN`).
    /// Default `127.0.0.1:50051`: local only until configured otherwise.
    pub listen: SocketAddr,
    /// Directory of the embedded SQLite database, created if missing
    /// (`--data`, `NEWSWIRE_DATA`). Default `./data`.
    pub data: PathBuf,
    /// A database URL replacing the embedded store: `sqlite://PATH` or
    /// `postgres://…` (`--database`, `NEWSWIRE_DATABASE_URL`). Default
    /// unset: SQLite under `data`. Its password is redacted when printed.
    pub database: Option<String>,
    /// Largest gRPC message accepted or sent, in bytes
    /// (`--max-message-bytes`, `NEWSWIRE_MAX_MESSAGE_BYTES`). A document
    /// may be up to 1 MiB and its article form is larger, so the default
    /// is 4 MiB; 64 KiB to 64 MiB.
    pub max_message_bytes: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            data: PathBuf::from("./data"),
            database: None,
            max_message_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Which store `serve` uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

impl ServerConfig {
    /// The store `database` (or else `data`) names, or why it names none.
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
                "server.database (--database / NEWSWIRE_DATABASE_URL): {url:?} is neither \
                 sqlite://PATH nor postgres://…"
            ),
        }
    }

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            MESSAGE_BYTES_RANGE.contains(&self.max_message_bytes),
            "server.max_message_bytes: {} is outside {}..={}",
            self.max_message_bytes,
            MESSAGE_BYTES_RANGE.start(),
            MESSAGE_BYTES_RANGE.end()
        );
        self.store_location()?;
        Ok(())
    }
}

/// How the PostgreSQL store uses its database (ignored by SQLite).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Most PostgreSQL connections this server keeps open
    /// (`--database-pool-size`, `NEWSWIRE_DATABASE_POOL_SIZE`). Default 16,
    /// 1 to 1,000; keep the sum over all replicas below the database's
    /// `max_connections`.
    pub pool_size: u16,
    /// Articles each server caches for lookups by id
    /// (`--database-read-cache`, `NEWSWIRE_DATABASE_READ_CACHE`; 0: no
    /// cache). Default 50,000, at most 10,000,000. Exact across replicas:
    /// each lookup first checks the change log.
    pub read_cache: u32,
}

/// The default `database.read_cache`; `main.rs` checks that it is the
/// PostgreSQL store's own default.
pub const DEFAULT_READ_CACHE_ARTICLES: u32 = 50_000;

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            pool_size: 16,
            read_cache: DEFAULT_READ_CACHE_ARTICLES,
        }
    }
}

impl DatabaseConfig {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            POOL_SIZE_RANGE.contains(&self.pool_size),
            "database.pool_size: {} is outside {}..={}",
            self.pool_size,
            POOL_SIZE_RANGE.start(),
            POOL_SIZE_RANGE.end()
        );
        anyhow::ensure!(
            READ_CACHE_RANGE.contains(&self.read_cache),
            "database.read_cache: {} is outside {}..={}",
            self.read_cache,
            READ_CACHE_RANGE.start(),
            READ_CACHE_RANGE.end()
        );
        Ok(())
    }
}
