//! One import round each way: the whole input through ImportArticles into
//! a fresh newswire server, or the same rows through rusqlite directly.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use newswire::proto::article_service_client::ArticleServiceClient;
use newswire::proto::{ImportArticlesRequest, ImportArticlesResponse, import_articles_request};
use tonic::transport::Endpoint;

use super::corpus::SourcedDocument;
use super::process::PinnedChild;

/// The longest one import may take before the round counts as failed.
const IMPORT_TIMEOUT: Duration = Duration::from_secs(300);

/// What one import round measured.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    /// Items sent (documents or history entries).
    pub items: usize,
    /// Items that wrote something (created or updated).
    pub writes: usize,
    pub elapsed: Duration,
    /// CPU the process on the server core used during the import (zero for
    /// the raw baseline, which times itself).
    pub server_cpu: Duration,
    /// Transactions ImportArticles committed, each one WAL sync (counted
    /// from the database afterwards; 0 for the raw baselines, whose
    /// grouping is fixed).
    pub commits: usize,
}

impl ImportOutcome {
    /// Items per second of wall time.
    pub fn items_per_second(&self) -> f64 {
        self.items as f64 / self.elapsed.as_secs_f64()
    }
}

/// The ImportArticles stream for `documents`, as `newswire import` sends it.
pub fn requests(documents: &[SourcedDocument]) -> Vec<ImportArticlesRequest> {
    documents
        .iter()
        .map(|document| ImportArticlesRequest {
            source: document.source.clone(),
            item: Some(import_articles_request::Item::Document(
                document.text.clone(),
            )),
        })
        .collect()
}

/// Streams `requests` through ImportArticles to the server at `server`
/// (whose database is fresh) and checks nothing failed.
pub async fn through_service(
    server: &PinnedChild,
    requests: &[ImportArticlesRequest],
) -> anyhow::Result<(ImportOutcome, ImportArticlesResponse)> {
    let channel = Endpoint::from_shared(format!("http://{}", server.address()?))?
        .connect()
        .await
        .context("connecting for the import")?;
    let mut client = ArticleServiceClient::new(channel);
    // Cloned before the clock starts.
    let stream = tokio_stream::iter(requests.to_vec());
    let cpu_before = server.cpu_time()?;
    let started = Instant::now();
    let summary = tokio::time::timeout(IMPORT_TIMEOUT, client.import_articles(stream))
        .await
        .context("the import timed out")?
        .context("the import failed")?
        .into_inner();
    let elapsed = started.elapsed();
    let server_cpu = server.cpu_time()?.saturating_sub(cpu_before);
    let counted = summary.created + summary.updated + summary.unchanged + summary.failed;
    if summary.failed > 0 || usize::try_from(counted)? != requests.len() {
        bail!(
            "the import counted created {}, updated {}, unchanged {}, failed {} of {} items; first failure: {:?}",
            summary.created,
            summary.updated,
            summary.unchanged,
            summary.failed,
            requests.len(),
            summary.failures.first()
        );
    }
    let outcome = ImportOutcome {
        items: requests.len(),
        writes: usize::try_from(summary.created + summary.updated)?,
        elapsed,
        server_cpu,
        // Counted from the database once the server has stopped.
        commits: 0,
    };
    Ok((outcome, summary))
}

/// Runs the raw baseline in a pinned child over a fresh database in
/// `data_directory`; `input` is `corpus` or `history`, `grouping` as
/// `raw::Grouping::parse` reads it.
pub async fn through_rusqlite(
    data_directory: &str,
    input: &str,
    grouping: &str,
    items: usize,
) -> anyhow::Result<ImportOutcome> {
    let child = PinnedChild::start(&["raw-insert", data_directory, input, grouping])?;
    let line = child.first_line().to_string();
    child.stop().await?;
    let (nanos, writes) = line
        .split_once(' ')
        .with_context(|| format!("raw-insert printed {line:?}"))?;
    Ok(ImportOutcome {
        items,
        writes: writes.parse()?,
        elapsed: Duration::from_nanos(nanos.parse()?),
        server_cpu: Duration::ZERO,
        commits: 0,
    })
}

/// How many transactions wrote the change log of the database in
/// `data_directory`: an import batch stamps all its entries with one
/// commit time, and no two batches share a microsecond.
pub fn commits_in(data_directory: &Path) -> anyhow::Result<usize> {
    let connection = rusqlite::Connection::open_with_flags(
        data_directory.join("newswire.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let commits: i64 = connection.query_row(
        "SELECT COUNT(DISTINCT commit_time) FROM change_log",
        [],
        |row| row.get(0),
    )?;
    Ok(usize::try_from(commits)?)
}
