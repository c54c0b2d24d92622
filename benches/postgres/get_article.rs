//! GetArticle through newswire on PostgreSQL against raw tokio-postgres:
//! the same rows, fetched by id with the same number of calls in flight.
//!
//! - *newswire*: a pinned server child (`serve-newswire-postgres`, one
//!   Tokio worker on core 0, its default pool of 16 connections and its
//!   default read cache); this process keeps `concurrency` GetArticle calls
//!   by id in flight over a few HTTP/2 connections and checks every answer.
//! - *newswire, read cache off*: the same with a second child whose cache
//!   is off, so every call reads its row from PostgreSQL. (The two children
//!   share core 0; the one not measured is idle.)
//! - *raw*: this process keeps as many `SELECT` by primary key in flight,
//!   of the columns the store reads, pipelined over a few tokio-postgres
//!   connections (a connection sends a query without waiting for the
//!   answers before it), and reads every column of every row.
//!
//! PostgreSQL's backends run where the kernel puts them; their CPU is read
//! from /proc (found through `pg_stat_activity`), so the report splits the
//! machine's work between newswire, PostgreSQL and the load generator.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use newswire::proto::article_service_client::ArticleServiceClient;
use newswire::proto::{GetArticleRequest, get_article_request};
use tonic::transport::Channel;
use uuid::Uuid;

use crate::database::{self, Backends, BenchDatabase};
use crate::load::{LoadShape, connect};
use crate::process::{PinnedChild, own_cpu_time};
use crate::report::{percent, progress, rate, ratio, target};
use crate::rounds::Rounds;
use crate::synthetic;

const NEWSWIRE: usize = 0;
const UNCACHED: usize = 1;
const RAW: usize = 2;
const CONTENDERS: usize = 3;
const NAMES: [&str; CONTENDERS] = [
    "newswire on PostgreSQL (read cache on, the default)",
    "newswire on PostgreSQL, read cache off",
    "raw tokio-postgres, pipelined",
];

/// The columns the store reads for an article (`ARTICLE_COLUMNS`).
const RAW_SELECT: &str = "SELECT a.id, a.key, a.front_matter, a.body, a.create_time, \
     a.update_time, a.revision, a.etag FROM articles a WHERE a.id = $1";

/// What one measured window saw.
#[derive(Debug, Clone, Default)]
pub struct Window {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    elapsed: Duration,
    /// The measured newswire process (zero for raw).
    server_cpu: Duration,
    /// PostgreSQL's backends serving the database.
    backends_cpu: Duration,
    /// This process.
    generator_cpu: Duration,
    /// Whether the backends could be seen in /proc.
    backends_visible: bool,
}

impl Window {
    fn calls_per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    fn share(&self, cpu: Duration) -> f64 {
        cpu.as_secs_f64() / self.elapsed.as_secs_f64()
    }

    fn record(&mut self, problem: Option<String>) {
        match problem {
            None => self.ok += 1,
            Some(problem) => {
                self.errors += 1;
                self.first_error.get_or_insert(problem);
            }
        }
    }

    fn add(&mut self, part: Window) {
        self.ok += part.ok;
        self.errors += part.errors;
        if self.first_error.is_none() {
            self.first_error = part.first_error;
        }
    }
}

/// The comparison: each contender's window per round, indexed as `NAMES`.
pub struct GetArticleRounds {
    rounds: Rounds<Window>,
    articles: u64,
}

/// Loads `articles` synthetic articles into a fresh database, starts
/// newswire over it, and measures `rounds` rounds of each contender.
pub async fn measure(
    rounds: usize,
    shape: LoadShape,
    articles: u64,
) -> anyhow::Result<GetArticleRounds> {
    let database = BenchDatabase::create().await?;
    newswire::store::postgres::PostgresStore::connect(
        database.url(),
        newswire::wire::article_encoder(),
    )
    .await
    .context("migrating the database")?;
    let monitor = database::connect(database.url()).await?;
    progress(&format!(
        "GetArticle: loading {articles} synthetic articles"
    ));
    synthetic::load(&monitor, &synthetic::generator()?, articles).await?;
    let ids: Arc<[Uuid]> = monitor
        .query("SELECT id FROM articles ORDER BY key", &[])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();

    let server = PinnedChild::start(&["serve-newswire-postgres", "127.0.0.1:0", database.url()])?;
    let clients = connect(server.address()?, shape.connections).await?;
    let uncached_server = PinnedChild::start(&[
        "serve-newswire-postgres",
        "127.0.0.1:0",
        database.url(),
        "0",
    ])?;
    let uncached_clients = connect(uncached_server.address()?, shape.connections).await?;
    let mut raw_clients = Vec::with_capacity(shape.connections);
    for _ in 0..shape.connections {
        let client = database::connect(database.url()).await?;
        let statement = client.prepare(RAW_SELECT).await?;
        raw_clients.push(Arc::new((client, statement)));
    }
    progress(&format!("GetArticle rounds ({})", server.scheduling()));

    let measured = Rounds::measure(
        rounds,
        CONTENDERS,
        async |_, contender| match contender {
            NEWSWIRE | UNCACHED => {
                let (server, clients) = if contender == NEWSWIRE {
                    (&server, &clients)
                } else {
                    (&uncached_server, &uncached_clients)
                };
                newswire_window(clients, &ids, shape, shape.warm_up).await?;
                let backends = Backends::of(&monitor).await?;
                let before = (server.cpu_time()?, backends.cpu_time(), own_cpu_time()?);
                let mut window = newswire_window(clients, &ids, shape, shape.duration).await?;
                window.server_cpu = server.cpu_time()?.saturating_sub(before.0);
                window.backends_cpu = backends.cpu_time().saturating_sub(before.1);
                window.generator_cpu = own_cpu_time()?.saturating_sub(before.2);
                window.backends_visible = backends.visible();
                Ok(window)
            }
            _ => {
                raw_window(&raw_clients, &ids, shape, shape.warm_up).await?;
                let backends = Backends::of(&monitor).await?;
                let before = (backends.cpu_time(), own_cpu_time()?);
                let mut window = raw_window(&raw_clients, &ids, shape, shape.duration).await?;
                window.backends_cpu = backends.cpu_time().saturating_sub(before.0);
                window.generator_cpu = own_cpu_time()?.saturating_sub(before.1);
                window.backends_visible = backends.visible();
                Ok(window)
            }
        },
        |round, windows| {
            println!(
                "GetArticle round {}: newswire {} calls/s, read cache off {} calls/s, raw {} calls/s; ratios {} and {}",
                round + 1,
                rate(windows[NEWSWIRE].calls_per_second()),
                rate(windows[UNCACHED].calls_per_second()),
                rate(windows[RAW].calls_per_second()),
                ratio(windows[NEWSWIRE].calls_per_second() / windows[RAW].calls_per_second()),
                ratio(windows[UNCACHED].calls_per_second() / windows[RAW].calls_per_second()),
            );
            Ok(())
        },
    )
    .await?;
    drop(clients);
    drop(uncached_clients);
    drop(raw_clients);
    server.stop().await?;
    uncached_server.stop().await?;
    drop(monitor);
    drop(database);
    Ok(GetArticleRounds {
        rounds: measured,
        articles,
    })
}

/// `shape.concurrency` GetArticle loops for `length`.
async fn newswire_window(
    clients: &[ArticleServiceClient<Channel>],
    ids: &Arc<[Uuid]>,
    shape: LoadShape,
    length: Duration,
) -> anyhow::Result<Window> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + length;
    let mut tasks = Vec::with_capacity(shape.concurrency);
    for slot in 0..shape.concurrency {
        let mut client = clients[slot % clients.len()].clone();
        let ids = Arc::clone(ids);
        let next = Arc::clone(&next);
        tasks.push(tokio::spawn(async move {
            let mut window = Window::default();
            while Instant::now() < deadline {
                let id = ids[next.fetch_add(1, Ordering::Relaxed) % ids.len()].to_string();
                let request = GetArticleRequest {
                    lookup: Some(get_article_request::Lookup::Id(id.clone())),
                };
                window.record(match client.get_article(request).await {
                    Ok(response) => match response.into_inner().article {
                        Some(article) if article.id == id => None,
                        Some(article) => Some(format!("asked for {id}, got {}", article.id)),
                        None => Some(format!("{id}: OK without an article")),
                    },
                    Err(status) => Some(format!("{id}: {:?} {}", status.code(), status.message())),
                });
            }
            window
        }));
    }
    let mut window = Window::default();
    for task in tasks {
        window.add(task.await.context("a load task panicked")?);
    }
    window.elapsed = started.elapsed();
    Ok(window)
}

/// `shape.concurrency` raw `SELECT` loops for `length`, spread over the
/// connections, each reading every column.
async fn raw_window(
    clients: &[Arc<(tokio_postgres::Client, tokio_postgres::Statement)>],
    ids: &Arc<[Uuid]>,
    shape: LoadShape,
    length: Duration,
) -> anyhow::Result<Window> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + length;
    let mut tasks = Vec::with_capacity(shape.concurrency);
    for slot in 0..shape.concurrency {
        let connection = Arc::clone(&clients[slot % clients.len()]);
        let ids = Arc::clone(ids);
        let next = Arc::clone(&next);
        tasks.push(tokio::spawn(async move {
            let (client, statement) = &*connection;
            let mut window = Window::default();
            while Instant::now() < deadline {
                let id = ids[next.fetch_add(1, Ordering::Relaxed) % ids.len()];
                window.record(match client.query_opt(statement, &[&id]).await {
                    Ok(Some(row)) => read_row(&row, id)
                        .err()
                        .map(|error| format!("{id}: {error}")),
                    Ok(None) => Some(format!("{id}: no row")),
                    Err(error) => Some(format!("{id}: {error}")),
                });
            }
            window
        }));
    }
    let mut window = Window::default();
    for task in tasks {
        window.add(task.await.context("a load task panicked")?);
    }
    window.elapsed = started.elapsed();
    Ok(window)
}

/// Reads every column as the store does, and checks the id.
fn read_row(row: &tokio_postgres::Row, asked: Uuid) -> anyhow::Result<()> {
    let id: Uuid = row.try_get(0)?;
    let _key: String = row.try_get(1)?;
    let _front_matter: String = row.try_get(2)?;
    let _body: String = row.try_get(3)?;
    let _times: (DateTime<Utc>, DateTime<Utc>) = (row.try_get(4)?, row.try_get(5)?);
    let _revision: i64 = row.try_get(6)?;
    let _etag: String = row.try_get(7)?;
    anyhow::ensure!(id == asked, "got {id}");
    Ok(())
}

impl GetArticleRounds {
    /// Prints the summary; false if any call failed.
    pub fn print(&self, shape: LoadShape) -> bool {
        println!(
            "GetArticle by id over {} synthetic articles, {} calls in flight, median of {} rounds (ratio: median of per-round ratios, lowest..highest):",
            self.articles,
            shape.concurrency,
            self.rounds.len()
        );
        let mut clean = true;
        for (contender, name) in NAMES.iter().enumerate() {
            let (ok, errors, first_error) = self.rounds.of(contender).fold(
                (0, 0, None::<String>),
                |(ok, errors, first), window| {
                    (
                        ok + window.ok,
                        errors + window.errors,
                        first.or_else(|| window.first_error.clone()),
                    )
                },
            );
            clean &= errors == 0;
            let backends = if self
                .rounds
                .of(contender)
                .all(|window| window.backends_visible)
            {
                percent(self.rounds.median(contender, |w| w.share(w.backends_cpu)))
            } else {
                "n/a (the server is not on this machine)".to_string()
            };
            println!(
                "  {name}: {} calls/s; CPU (share of one core): newswire {}, PostgreSQL backends {backends}, load generator {}",
                rate(self.rounds.median(contender, Window::calls_per_second)),
                percent(self.rounds.median(contender, |w| w.share(w.server_cpu))),
                percent(self.rounds.median(contender, |w| w.share(w.generator_cpu))),
            );
            println!(
                "    {ok} OK calls, {errors} errors{}",
                first_error
                    .map(|error| format!(" (first: {error})"))
                    .unwrap_or_default()
            );
        }
        println!(
            "  ratio newswire / raw: {}; {}",
            self.rounds.ratio(NEWSWIRE, RAW, Window::calls_per_second),
            target(">= 0.50")
        );
        println!(
            "  ratio newswire with the read cache off / raw: {}",
            self.rounds.ratio(UNCACHED, RAW, Window::calls_per_second)
        );
        clean
    }
}
