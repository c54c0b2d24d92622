//! Commit-to-delivery latency: 100 watchers while changes are committed at
//! a steady 1,000 per second (ImportArticles, 10 items every 10 ms), from
//! newswire and from the bare baseline (whose events carry the time it
//! broadcast them).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use newswire::proto::article_event::Type;
use newswire::proto::article_service_client::ArticleServiceClient;
use newswire::proto::import_articles_request::Item;
use newswire::proto::{ImportArticlesRequest, WatchArticlesRequest};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::corpus::SourcedDocument;
use super::fanout::{Contender, Progress, connect, probe_document, start};
use super::report::target;
use super::rounds::Rounds;

/// Changes per second.
pub const RATE: usize = 1000;
/// How long changes are committed.
pub const DURATION: Duration = Duration::from_secs(3);
/// Items sent together every `RATE / BURST` of a second.
pub const BURST: usize = 10;

/// Each contender's (p50, p99) per round, in milliseconds, indexed as
/// `Contender::ALL`.
pub struct LatencyResult {
    watchers: usize,
    rounds: Rounds<(f64, f64)>,
}

impl LatencyResult {
    pub fn print(&self) {
        let p = |contender: Contender, pick: fn(&(f64, f64)) -> f64| {
            self.rounds.median(contender as usize, pick)
        };
        println!();
        println!(
            "commit-to-delivery latency: {} watchers, {RATE} changes/s for {DURATION:?}",
            self.watchers
        );
        let newswire_p50 = p(Contender::Newswire, |round| round.0);
        let newswire_p99 = p(Contender::Newswire, |round| round.1);
        let bare_p50 = p(Contender::Bare, |round| round.0);
        let bare_p99 = p(Contender::Bare, |round| round.1);
        println!(
            "  p50: newswire {newswire_p50:.2} ms, bare broadcast {bare_p50:.2} ms; p99: newswire {newswire_p99:.2} ms, bare broadcast {bare_p99:.2} ms; p99 newswire / bare {:.2} ({})",
            newswire_p99 / bare_p99,
            target("<= 2")
        );
    }
}

/// `rounds` rounds of each server, alternating which goes first.
pub async fn measure(
    rounds: usize,
    watchers: usize,
    connections: usize,
    documents: &[SourcedDocument],
) -> anyhow::Result<LatencyResult> {
    let rounds = Contender::alternate(
        rounds,
        "latency",
        &format!("{watchers} watchers"),
        async |contender| one_round(contender, watchers, connections, documents).await,
    )
    .await?;
    Ok(LatencyResult { watchers, rounds })
}

async fn one_round(
    contender: Contender,
    watchers: usize,
    connections: usize,
    documents: &[SourcedDocument],
) -> anyhow::Result<(f64, f64)> {
    let data = tempfile::tempdir()?;
    let (child, url) = start(contender, data.path())?;
    let mut channels = Vec::new();
    for _ in 0..connections {
        channels.push(connect(&url).await?);
    }
    let changes = RATE * DURATION.as_secs() as usize;
    let probe_done = Arc::new(Progress::default());
    let mut tasks = Vec::new();
    for index in 0..watchers {
        let mut client = ArticleServiceClient::new(channels[index % connections].clone())
            .max_decoding_message_size(64 * 1024 * 1024);
        let mut events = client
            .watch_articles(WatchArticlesRequest::default())
            .await?
            .into_inner();
        let probe_done = Arc::clone(&probe_done);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(changes);
            let mut probed = false;
            while let Ok(Some(response)) = events.message().await {
                let Some(event) = response.event else {
                    continue;
                };
                if !matches!(Type::try_from(event.r#type), Ok(Type::Created)) {
                    continue;
                }
                if !probed {
                    probed = true;
                    probe_done.add_one();
                    continue;
                }
                let Some(committed) = event.commit_time else {
                    continue;
                };
                latencies.push(milliseconds_since(&committed));
                if latencies.len() == changes {
                    break;
                }
            }
            latencies
        }));
    }
    let mut importer =
        ArticleServiceClient::new(connect(&url).await?).max_encoding_message_size(64 * 1024 * 1024);
    importer
        .import_articles(tokio_stream::iter(vec![ImportArticlesRequest {
            source: "latency-probe.md".to_string(),
            item: Some(Item::Document(probe_document())),
        }]))
        .await?;
    probe_done.wait_for(watchers).await?;

    // Paced: BURST new articles every BURST/RATE seconds.
    let (sender, receiver) = mpsc::channel(RATE);
    let documents: Vec<SourcedDocument> = documents.to_vec();
    let pacer = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(1) * BURST as u32 / RATE as u32);
        let mut sent = 0;
        while sent < changes {
            ticks.tick().await;
            for _ in 0..BURST {
                let document = &documents[sent % documents.len()];
                let request = ImportArticlesRequest {
                    // A new key each time: every item is a create.
                    source: format!("latency-{sent}-{}", document.source),
                    item: Some(Item::Document(document.text.clone())),
                };
                if sender.send(request).await.is_err() {
                    return;
                }
                sent += 1;
            }
        }
    });
    let imported = importer
        .import_articles(ReceiverStream::new(receiver))
        .await?
        .into_inner();
    pacer.await?;
    if imported.created != changes as i64 {
        bail!("{contender:?} imported {imported:?}");
    }
    let started = Instant::now();
    let mut all = Vec::with_capacity(changes * watchers);
    for task in tasks {
        let remaining = Duration::from_secs(120).saturating_sub(started.elapsed());
        let latencies = tokio::time::timeout(remaining, task)
            .await
            .context("a watcher never got every change")??;
        if latencies.len() != changes {
            bail!("a watcher got {} of {changes} changes", latencies.len());
        }
        all.extend(latencies);
    }
    drop(channels);
    child.stop().await?;
    all.sort_by(f64::total_cmp);
    let at = |quantile: f64| all[((all.len() - 1) as f64 * quantile).round() as usize];
    Ok((at(0.50), at(0.99)))
}

/// Milliseconds from an event's `commit_time` to now, as a watcher sees it
/// arrive (zero if the clock reads earlier).
pub fn milliseconds_since(committed: &prost_types::Timestamp) -> f64 {
    let committed =
        SystemTime::UNIX_EPOCH + Duration::new(committed.seconds as u64, committed.nanos as u32);
    let latency = SystemTime::now()
        .duration_since(committed)
        .unwrap_or_default();
    latency.as_secs_f64() * 1000.0
}
