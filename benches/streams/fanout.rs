//! Fan-out: W watchers over C connections, each receiving every event of
//! an import of the corpus, from newswire and from the bare baseline.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use newswire::proto::article_event::Type;
use newswire::proto::article_service_client::ArticleServiceClient;
use newswire::proto::import_articles_request::Item;
use newswire::proto::{ImportArticlesRequest, WatchArticlesRequest};
use tokio::sync::Notify;
use tonic::transport::{Channel, Endpoint};

use super::corpus::SourcedDocument;
use super::process::PinnedChild;
use super::report::{progress, rate, target};
use super::rounds::Rounds;

/// How long the watchers may take to receive everything.
const DEADLINE: Duration = Duration::from_secs(300);

/// One measurement: each contender's round, indexed as `Contender::ALL`.
pub struct FanoutResult {
    watchers: usize,
    connections: usize,
    events: usize,
    rounds: Rounds<Round>,
}

/// What one round of one server gave.
#[derive(Debug, Clone, Copy)]
struct Round {
    events_per_second: f64,
    memory_per_watcher: f64,
}

impl FanoutResult {
    /// Prints the result; `true` (nothing failed: a failure is an error).
    pub fn print(&self) -> bool {
        let rate_of = |contender: Contender| {
            self.rounds
                .median(contender as usize, |round| round.events_per_second)
        };
        let memory_of = |contender: Contender| {
            self.rounds
                .median(contender as usize, |round| round.memory_per_watcher)
        };
        println!();
        println!(
            "fan-out: {} watchers over {} connections, {} events each (an import of the corpus)",
            self.watchers, self.connections, self.events
        );
        println!(
            "  delivered events/s: newswire {}, bare broadcast {}; newswire / bare {} ({})",
            rate(rate_of(Contender::Newswire)),
            rate(rate_of(Contender::Bare)),
            self.rounds.ratio(
                Contender::Newswire as usize,
                Contender::Bare as usize,
                |round| round.events_per_second
            ),
            target(">= 0.50"),
        );
        println!(
            "  server memory per idle watcher: newswire {:.1} KiB, bare broadcast {:.1} KiB",
            memory_of(Contender::Newswire) / 1024.0,
            memory_of(Contender::Bare) / 1024.0,
        );
        true
    }
}

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contender {
    Newswire,
    Bare,
}

impl Contender {
    /// Both, in report order: `Rounds` indexes them so (`as usize`).
    pub const ALL: [Contender; 2] = [Contender::Newswire, Contender::Bare];

    /// `count` alternating rounds of both, each measurement announced on
    /// stderr as `{part} round R/COUNT: CONTENDER, {detail}`.
    pub async fn alternate<Measured>(
        count: usize,
        part: &str,
        detail: &str,
        mut measure: impl AsyncFnMut(Contender) -> anyhow::Result<Measured>,
    ) -> anyhow::Result<Rounds<Measured>> {
        Rounds::measure(
            count,
            Self::ALL.len(),
            async |round, contender| {
                let contender = Self::ALL[contender];
                progress(&format!(
                    "{part} round {}/{count}: {contender:?}, {detail}",
                    round + 1
                ));
                measure(contender).await
            },
            |_, _| Ok(()),
        )
        .await
    }
}

/// `rounds` rounds of each server, alternating which goes first.
pub async fn measure(
    rounds: usize,
    watchers: usize,
    connections: usize,
    documents: &[SourcedDocument],
) -> anyhow::Result<FanoutResult> {
    let rounds = Contender::alternate(
        rounds,
        "fan-out",
        &format!("{watchers} watchers"),
        async |contender| one_round(contender, watchers, connections, documents).await,
    )
    .await?;
    Ok(FanoutResult {
        watchers,
        connections,
        events: documents.len(),
        rounds,
    })
}

async fn one_round(
    contender: Contender,
    watchers: usize,
    connections: usize,
    documents: &[SourcedDocument],
) -> anyhow::Result<Round> {
    let data = tempfile::tempdir()?;
    let (child, url) = start(contender, data.path())?;
    let pid = child.pid();
    let mut channels = Vec::new();
    for _ in 0..connections {
        channels.push(connect(&url).await?);
    }
    let memory_before = resident_bytes(pid)?;

    let probe_done = Arc::new(Progress::default());
    let all_done = Arc::new(Progress::default());
    let target = documents.len() + 1;
    let mut tasks = Vec::new();
    for index in 0..watchers {
        let mut client = ArticleServiceClient::new(channels[index % connections].clone())
            .max_decoding_message_size(64 * 1024 * 1024);
        let mut events = client
            .watch_articles(WatchArticlesRequest::default())
            .await?
            .into_inner();
        let (probe_done, all_done) = (Arc::clone(&probe_done), Arc::clone(&all_done));
        tasks.push(tokio::spawn(async move {
            let mut received = 0;
            while let Ok(Some(response)) = events.message().await {
                let is_change = response.event.is_some_and(|event| {
                    matches!(
                        Type::try_from(event.r#type),
                        Ok(Type::Created | Type::Updated | Type::Deleted)
                    )
                });
                if is_change {
                    received += 1;
                    if received == 1 {
                        probe_done.add_one();
                    }
                    if received == target {
                        all_done.add_one();
                    }
                }
            }
        }));
    }
    // The probe: one event, so that every watch is known to be live.
    let mut importer =
        ArticleServiceClient::new(connect(&url).await?).max_encoding_message_size(64 * 1024 * 1024);
    importer
        .import_articles(tokio_stream::iter(vec![ImportArticlesRequest {
            source: "fan-out-probe.md".to_string(),
            item: Some(Item::Document(probe_document())),
        }]))
        .await?;
    probe_done.wait_for(watchers).await?;
    let memory_after = resident_bytes(pid)?;

    let requests: Vec<ImportArticlesRequest> = documents
        .iter()
        .map(|document| ImportArticlesRequest {
            source: document.source.clone(),
            item: Some(Item::Document(document.text.clone())),
        })
        .collect();
    let started = Instant::now();
    let imported = importer
        .import_articles(tokio_stream::iter(requests))
        .await?
        .into_inner();
    if imported.created != documents.len() as i64 {
        bail!("{contender:?} imported {imported:?}");
    }
    all_done.wait_for(watchers).await?;
    let elapsed = started.elapsed();
    for task in &tasks {
        task.abort();
    }
    drop(channels);
    child.stop().await?;
    Ok(Round {
        events_per_second: (watchers * documents.len()) as f64 / elapsed.as_secs_f64(),
        memory_per_watcher: memory_after.saturating_sub(memory_before) as f64 / watchers as f64,
    })
}

/// Starts `contender` as a pinned child (newswire over a fresh database
/// in `data`); returns it and its URL.
pub fn start(
    contender: Contender,
    data: &std::path::Path,
) -> anyhow::Result<(PinnedChild, String)> {
    let data = data.display().to_string();
    let child = match contender {
        Contender::Newswire => PinnedChild::start(&["serve-newswire", "127.0.0.1:0", &data])?,
        Contender::Bare => PinnedChild::start(&["serve-bare", "127.0.0.1:0"])?,
    };
    let url = format!("http://{}", child.address()?);
    Ok((child, url))
}

/// How many watchers reached a point, and a wake-up when all have.
#[derive(Default)]
pub struct Progress {
    count: AtomicUsize,
    changed: Notify,
}

impl Progress {
    pub fn add_one(&self) {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_one();
    }

    pub async fn wait_for(&self, count: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + DEADLINE;
        while self.count.load(Ordering::SeqCst) < count {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if tokio::time::timeout(remaining, self.changed.notified())
                .await
                .is_err()
            {
                bail!(
                    "only {} of {count} watchers got there within {DEADLINE:?}",
                    self.count.load(Ordering::SeqCst)
                );
            }
        }
        Ok(())
    }
}

pub async fn connect(url: &str) -> anyhow::Result<Channel> {
    Ok(Endpoint::from_shared(url.to_string())?
        .tcp_nodelay(true)
        .connect()
        .await?)
}

pub fn probe_document() -> String {
    "---\ntitle: Fan-out probe\npublishedDateTime: 2026-01-01T00:00:00Z\n---\nprobe\n".to_string()
}

/// The resident set size of process `pid`, from `/proc`.
fn resident_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .context("VmRSS in /proc/PID/status")?;
    Ok(kib * 1024)
}
