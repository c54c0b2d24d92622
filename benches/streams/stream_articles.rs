//! StreamArticles: messages per second of one client streaming every
//! article of a database of N, against a bare tonic server streaming N
//! pre-built messages of the same articles; and newswire's peak memory
//! streaming the largest N against the smallest (a fresh server process
//! for each stream, so the peak is the stream's, not the import's).
//!
//! `NEWSWIRE_BENCH_STREAM_DATA=DIR` keeps each database in `DIR/N-articles`
//! and reuses one a former run filled completely: a million articles take
//! minutes to import.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use newswire::proto::article_service_client::ArticleServiceClient;
use newswire::proto::import_articles_request::Item;
use newswire::proto::{ImportArticlesRequest, StreamArticlesRequest};

use super::corpus::SourcedDocument;
use super::fanout::{Contender, connect};
use super::process::PinnedChild;
use super::report::{progress, rate, target};
use super::rounds::Rounds;

/// One database size's figures: each contender's stream per round,
/// indexed as `Contender::ALL`.
pub struct StreamResult {
    count: usize,
    rounds: Rounds<Streamed>,
}

/// What one stream from a fresh child gave.
struct Streamed {
    messages_per_second: f64,
    /// The child's peak resident set, in bytes.
    peak: u64,
}

impl StreamResult {
    fn messages_per_second(&self, contender: Contender) -> f64 {
        self.rounds
            .median(contender as usize, |streamed| streamed.messages_per_second)
    }

    fn newswire_peak(&self) -> f64 {
        self.rounds
            .median(Contender::Newswire as usize, |streamed| {
                streamed.peak as f64
            })
    }
}

/// Every size's figures.
pub struct StreamResults(Vec<StreamResult>);

impl StreamResults {
    pub fn print(&self) {
        println!();
        println!("StreamArticles: one client streams every article (read batches of 100)");
        for result in &self.0 {
            println!(
                "  {} articles: newswire {} msgs/s, bare stream {} msgs/s; newswire / bare {} ({}); newswire peak memory {:.1} MiB",
                rate(result.count as f64),
                rate(result.messages_per_second(Contender::Newswire)),
                rate(result.messages_per_second(Contender::Bare)),
                result.rounds.ratio(
                    Contender::Newswire as usize,
                    Contender::Bare as usize,
                    |streamed| streamed.messages_per_second
                ),
                target(">= 0.50"),
                result.newswire_peak() / (1024.0 * 1024.0),
            );
        }
        if let [smallest, .., largest] = self.0.as_slice() {
            println!(
                "  peak memory {} vs {} articles: {:.2} ({})",
                rate(largest.count as f64),
                rate(smallest.count as f64),
                largest.newswire_peak() / smallest.newswire_peak(),
                target("<= 1.20"),
            );
        }
    }
}

pub async fn measure(
    rounds: usize,
    counts: &[usize],
    documents: &[SourcedDocument],
) -> anyhow::Result<StreamResults> {
    let mut results = Vec::new();
    for &count in counts {
        let data = Database::for_count(count)?;
        if data.filled {
            progress(&format!(
                "StreamArticles: reusing {}",
                data.path().display()
            ));
        } else {
            progress(&format!("StreamArticles: importing {count} articles"));
            populate(data.path(), count, documents).await?;
            data.mark_filled()?;
        }
        let rounds = Contender::alternate(
            rounds,
            "StreamArticles",
            &format!("{count} articles"),
            async |contender| one_round(contender, data.path(), count).await,
        )
        .await?;
        results.push(StreamResult { count, rounds });
    }
    Ok(StreamResults(results))
}

/// Where one size's database lives: a temporary folder, or a kept one
/// under `NEWSWIRE_BENCH_STREAM_DATA`.
enum Location {
    Temporary(tempfile::TempDir),
    Kept(PathBuf),
}

/// A database of one size, and whether a former run filled it.
struct Database {
    location: Location,
    filled: bool,
}

impl Database {
    /// Written once an import of every article succeeded.
    const FILLED_MARK: &str = "filled";

    fn for_count(count: usize) -> anyhow::Result<Self> {
        let Some(root) = std::env::var_os("NEWSWIRE_BENCH_STREAM_DATA") else {
            return Ok(Self {
                location: Location::Temporary(tempfile::tempdir()?),
                filled: false,
            });
        };
        let path = PathBuf::from(root).join(format!("{count}-articles"));
        let filled = path.join(Self::FILLED_MARK).exists();
        if !filled {
            // A partial import from an interrupted run: start over.
            if path.exists() {
                std::fs::remove_dir_all(&path)?;
            }
            std::fs::create_dir_all(&path)?;
        }
        Ok(Self {
            location: Location::Kept(path),
            filled,
        })
    }

    fn path(&self) -> &Path {
        match &self.location {
            Location::Temporary(directory) => directory.path(),
            Location::Kept(path) => path,
        }
    }

    fn mark_filled(&self) -> anyhow::Result<()> {
        Ok(std::fs::write(self.path().join(Self::FILLED_MARK), "")?)
    }
}

/// Imports `count` articles (the corpus again and again, under new keys)
/// into the database in `data`, through a newswire child.
async fn populate(data: &Path, count: usize, documents: &[SourcedDocument]) -> anyhow::Result<()> {
    let data_path = data.display().to_string();
    let child = PinnedChild::start(&["serve-newswire", "127.0.0.1:0", &data_path])?;
    let mut client =
        ArticleServiceClient::new(connect(&format!("http://{}", child.address()?)).await?)
            .max_encoding_message_size(64 * 1024 * 1024);
    let documents = documents.to_vec();
    let requests = (0..count).map(move |index| {
        let document = &documents[index % documents.len()];
        ImportArticlesRequest {
            source: format!("copy-{index}-{}", document.source),
            item: Some(Item::Document(document.text.clone())),
        }
    });
    let imported = client
        .import_articles(tokio_stream::iter(requests))
        .await?
        .into_inner();
    if imported.created != count as i64 {
        bail!("populating: {imported:?}");
    }
    drop(client);
    child.stop().await
}

/// Streams everything once from a fresh child; messages/s and the child's
/// peak resident set.
async fn one_round(contender: Contender, data: &Path, count: usize) -> anyhow::Result<Streamed> {
    let data_path = data.display().to_string();
    let count_text = count.to_string();
    let child = match contender {
        Contender::Newswire => PinnedChild::start(&["serve-newswire", "127.0.0.1:0", &data_path])?,
        Contender::Bare => PinnedChild::start(&["serve-bare", "127.0.0.1:0", &count_text])?,
    };
    let mut client =
        ArticleServiceClient::new(connect(&format!("http://{}", child.address()?)).await?)
            .max_decoding_message_size(64 * 1024 * 1024);
    let started = Instant::now();
    let mut stream = client
        .stream_articles(StreamArticlesRequest::default())
        .await?
        .into_inner();
    let mut received = 0;
    while stream.message().await?.is_some() {
        received += 1;
    }
    let elapsed = started.elapsed();
    if received != count {
        bail!("{contender:?} streamed {received} of {count}");
    }
    let peak = peak_resident_bytes(child.pid())?;
    drop(client);
    child.stop().await?;
    Ok(Streamed {
        messages_per_second: count as f64 / elapsed.as_secs_f64(),
        peak,
    })
}

/// The peak resident set (VmHWM) of process `pid`.
fn peak_resident_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .context("VmHWM in /proc/PID/status")?;
    Ok(kib * 1024)
}
