//! ImportArticles: a client stream of documents or articles, upserted by key
//! in batches. A bad item is reported and skipped; it never aborts the rest.
//!
//! Reading and committing overlap: while one batch is being committed (on
//! the store's writer, then waiting for its durable sync), the next is read
//! and parsed. It is handed to the store only once the previous commit has
//! succeeded, so batches commit in stream order and nothing after a failed
//! commit is written.

use std::future::Future;
use std::pin::Pin;

use futures::FutureExt;
use futures::Stream;
use futures::future::{Either, select};
use tokio_stream::StreamExt;
use tonic::Status;

use crate::api::convert::{article_from_proto, require_complete};
use crate::api::status::to_status;
use crate::article::ArticleKey;
use crate::document;
use crate::error::Error;
use crate::proto::{self, import_articles_request::Item};
use crate::store::{Store, StoreResult, UpsertItem, UpsertOutcome};

/// Most items committed in one transaction. Smaller batches are committed
/// as soon as the client pauses, so a slow stream still lands promptly.
/// Each commit waits for a disk sync, so fewer, larger batches import
/// faster; the bound keeps one import from holding the store's only
/// writer for long.
pub const MAX_IMPORT_BATCH: usize = 1024;
/// Most bytes of input (document text, or encoded article) in one batch,
/// which bounds the memory a batch holds: 1,024 documents of up to 1 MiB
/// each would be 1 GiB.
pub const MAX_IMPORT_BATCH_BYTES: usize = 16 * 1024 * 1024;
/// Most failures listed in one response; all of them are counted.
pub const MAX_REPORTED_FAILURES: usize = 1000;

/// Reads the whole stream, committing batch by batch, and sums up.
///
/// If the store fails as a whole (unavailable, say), the call fails with that
/// status: earlier batches stay committed, and since items are upserted by
/// key, sending the same stream again is safe. If the stream breaks, the
/// batch being committed is finished first and the rest is dropped.
pub async fn run(
    store: &dyn Store,
    mut stream: impl Stream<Item = Result<proto::ImportArticlesRequest, Status>> + Unpin,
) -> Result<proto::ImportArticlesResponse, Status> {
    let mut summary = proto::ImportArticlesResponse::default();
    let mut next = Batch::default();
    let mut index = 0_i64;
    let mut stream_ended = false;
    let mut committing: Option<Commit<'_>> = None;
    loop {
        // Take whatever has already arrived, up to a full batch.
        while !stream_ended && !next.is_full() {
            match stream.next().now_or_never() {
                Some(Some(Ok(message))) => next.push(&mut index, message, &mut summary),
                Some(Some(Err(status))) => {
                    return Err(finish_then_fail(committing, &mut summary, status).await);
                }
                Some(None) => stream_ended = true,
                None => break,
            }
        }
        if committing.is_none() {
            if next.items.is_empty() {
                if stream_ended {
                    return Ok(summary);
                }
            } else {
                let mut commit = std::mem::take(&mut next).commit(store);
                // Start the commit, which hands the batch to the store's
                // writer thread; the next batch is read meanwhile. (Yielding
                // the core to the writer here made no measurable difference
                // in the pinned benchmark, docs/performance.md.)
                match (&mut commit).now_or_never() {
                    Some(committed) => committed.record(&mut summary)?,
                    None => committing = Some(commit),
                }
            }
        }
        // Wait for the commit to finish or, while the next batch has room,
        // for the next message.
        let wants_message = !stream_ended && !next.is_full();
        let message = match (committing.as_mut(), wants_message) {
            (Some(commit), true) => match select(commit, std::pin::pin!(stream.next())).await {
                Either::Left((committed, _)) => {
                    committing = None;
                    committed.record(&mut summary)?;
                    continue;
                }
                Either::Right((message, _)) => message,
            },
            (Some(commit), false) => {
                let committed = commit.await;
                committing = None;
                committed.record(&mut summary)?;
                continue;
            }
            (None, true) => stream.next().await,
            // The stream has ended or the batch is full: commit it first
            // (an ended stream must not be polled again).
            (None, false) => continue,
        };
        match message {
            Some(Ok(message)) => next.push(&mut index, message, &mut summary),
            Some(Err(status)) => {
                return Err(finish_then_fail(committing, &mut summary, status).await);
            }
            None => stream_ended = true,
        }
    }
}

/// A batch being committed by the store.
type Commit<'store> = Pin<Box<dyn Future<Output = Committed> + Send + 'store>>;

/// The failure of the stream, once the batch being committed (if any) is
/// in and counted, so earlier batches are settled when the call fails.
async fn finish_then_fail(
    committing: Option<Commit<'_>>,
    summary: &mut proto::ImportArticlesResponse,
    status: Status,
) -> Status {
    match committing {
        Some(commit) => commit.await.record(summary).err().unwrap_or(status),
        None => status,
    }
}

/// Items waiting for the next commit, with where each came from.
#[derive(Default)]
struct Batch {
    items: Vec<UpsertItem>,
    origins: Vec<(i64, String)>,
    /// Input bytes of the items, as `MAX_IMPORT_BATCH_BYTES` counts them.
    bytes: usize,
}

impl Batch {
    /// Whether the batch takes no more items.
    fn is_full(&self) -> bool {
        self.items.len() >= MAX_IMPORT_BATCH || self.bytes >= MAX_IMPORT_BATCH_BYTES
    }

    /// Converts one stream message, the `index`th; a bad one is counted as
    /// failed at once.
    fn push(
        &mut self,
        index: &mut i64,
        message: proto::ImportArticlesRequest,
        summary: &mut proto::ImportArticlesResponse,
    ) {
        match item_from_message(&message) {
            Ok(item) => {
                self.bytes += match &message.item {
                    Some(Item::Document(text)) => text.len(),
                    Some(Item::Article(article)) => prost::Message::encoded_len(article),
                    None => 0,
                };
                self.items.push(item);
                self.origins.push((*index, message.source));
            }
            Err(error) => record_failure(summary, *index, message.source, &error),
        }
        *index += 1;
    }

    /// Hands the batch to the store.
    fn commit(self, store: &dyn Store) -> Commit<'_> {
        Box::pin(async move {
            let outcomes = store.upsert_batch(self.items).await;
            Committed {
                origins: self.origins,
                outcomes,
            }
        })
    }
}

/// What the store made of a batch.
struct Committed {
    origins: Vec<(i64, String)>,
    outcomes: StoreResult<Vec<StoreResult<UpsertOutcome>>>,
}

impl Committed {
    /// Counts the outcomes; the store's failure as a whole is the call's.
    fn record(self, summary: &mut proto::ImportArticlesResponse) -> Result<(), Status> {
        let outcomes = self.outcomes.map_err(to_status)?;
        for ((index, source), outcome) in self.origins.into_iter().zip(outcomes) {
            match outcome {
                Ok(UpsertOutcome::Created(article)) => {
                    count_item("created");
                    summary.created += 1;
                    summary.last_revision = summary.last_revision.max(article.revision.0);
                }
                Ok(UpsertOutcome::Updated(article)) => {
                    count_item("updated");
                    summary.updated += 1;
                    summary.last_revision = summary.last_revision.max(article.revision.0);
                }
                Ok(UpsertOutcome::Unchanged(_)) => {
                    count_item("unchanged");
                    summary.unchanged += 1;
                }
                Err(error) => record_failure(summary, index, source, &error),
            }
        }
        Ok(())
    }
}

/// The key and content of one import item.
pub fn item_from_message(message: &proto::ImportArticlesRequest) -> Result<UpsertItem, Error> {
    let source = (!message.source.is_empty()).then_some(message.source.as_str());
    match &message.item {
        Some(Item::Document(text)) => {
            let content = document::parse(source.unwrap_or("document"), text)?;
            let key = ArticleKey::default_for(source, &content)?;
            Ok(UpsertItem { key, content })
        }
        Some(Item::Article(article)) => {
            let (key, content) = article_from_proto(article, "article")?;
            require_complete(article, &content, "article")?;
            let key = match key {
                Some(key) => key,
                None => ArticleKey::default_for(source, &content)?,
            };
            Ok(UpsertItem { key, content })
        }
        None => Err(Error::invalid("item", "set document or article")),
    }
}

/// Counts one import item in `newswire_import_items_total`.
fn count_item(outcome: &'static str) {
    metrics::counter!(crate::metrics::IMPORT_ITEMS, "outcome" => outcome).increment(1);
}

fn record_failure(
    summary: &mut proto::ImportArticlesResponse,
    index: i64,
    source: String,
    error: &Error,
) {
    count_item("failed");
    summary.failed += 1;
    if summary.failures.len() >= MAX_REPORTED_FAILURES {
        return;
    }
    summary.failures.push(proto::ImportFailure {
        index,
        source,
        reason: error.to_string(),
    });
}
