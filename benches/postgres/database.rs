//! A fresh PostgreSQL database per measurement, dropped afterwards, and the
//! CPU its server backends use.

use std::time::Duration;

use anyhow::Context;
use tokio_postgres::NoTls;

/// The server the benchmark uses: `NEWSWIRE_BENCH_DATABASE_URL`, else the
/// tests' `NEWSWIRE_TEST_DATABASE_URL`, else the local one.
pub fn server_url() -> String {
    ["NEWSWIRE_BENCH_DATABASE_URL", "NEWSWIRE_TEST_DATABASE_URL"]
        .iter()
        .find_map(|variable| {
            std::env::var(variable)
                .ok()
                .filter(|url| !url.trim().is_empty())
        })
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A plain connection, its connection task spawned on this runtime.
pub async fn connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.with_context(|| {
        format!(
            "connecting to PostgreSQL at {url} (set NEWSWIRE_BENCH_DATABASE_URL; \
                 scripts/test shows how to provision one)"
        )
    })?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// A database of its own, `newswire_bench_<hex>`, dropped with it.
pub struct BenchDatabase {
    name: String,
    url: String,
    server_url: String,
}

impl BenchDatabase {
    /// Creates an empty database; `PostgresStore::connect` (or a server
    /// child) migrates it.
    pub async fn create() -> anyhow::Result<Self> {
        let server_url = server_url();
        let name = format!("newswire_bench_{}", uuid::Uuid::now_v7().simple());
        connect(&server_url)
            .await?
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .with_context(|| format!("creating the database {name}"))?;
        let url = with_database(&server_url, &name);
        Ok(Self {
            name,
            url,
            server_url,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for BenchDatabase {
    /// Drops the database, forcing off any session still open. Drop cannot
    /// await: a thread of its own with a small runtime does it.
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let server_url = self.server_url.clone();
        let dropping = std::thread::spawn(move || -> anyhow::Result<()> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                connect(&server_url)
                    .await?
                    .batch_execute(&statement)
                    .await?;
                anyhow::Ok(())
            })
        });
        match dropping.join() {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("warning: dropping the database {}: {error:#}", self.name),
            Err(_) => eprintln!("warning: dropping the database {} panicked", self.name),
        }
    }
}

/// `url` with its database replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return format!("{url} dbname={database}");
    };
    let authority_start = scheme_end + 3;
    let (before_query, query) = match url.find('?') {
        Some(position) => url.split_at(position),
        None => (url, ""),
    };
    let authority_end = before_query[authority_start..]
        .find('/')
        .map_or(before_query.len(), |position| authority_start + position);
    format!("{}/{database}{query}", &before_query[..authority_end])
}

/// The server processes serving a database's sessions, to charge their
/// CPU to whoever drives them. Empty when the server is not on this
/// machine (the report then says n/a).
pub struct Backends {
    pids: Vec<u32>,
}

impl Backends {
    /// The backends of every session open on the database `client` is
    /// connected to, but `client`'s own.
    pub async fn of(client: &tokio_postgres::Client) -> anyhow::Result<Self> {
        let rows = client
            .query(
                "SELECT pid FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .await?;
        let pids = rows
            .iter()
            .map(|row| row.get::<_, i32>(0))
            .filter_map(|pid| u32::try_from(pid).ok())
            .filter(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
            .collect();
        Ok(Self { pids })
    }

    /// Whether any backend could be seen in /proc.
    pub fn visible(&self) -> bool {
        !self.pids.is_empty()
    }

    /// CPU used by these backends so far (a backend that has exited counts
    /// nothing further).
    pub fn cpu_time(&self) -> Duration {
        self.pids
            .iter()
            .filter_map(|pid| crate::process::process_cpu_time(*pid).ok())
            .sum()
    }
}
