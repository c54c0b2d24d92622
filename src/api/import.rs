//! ImportArticles: a client stream of documents or articles, upserted by key
//! in batches. A bad item is reported and skipped; it never aborts the rest.

use futures::FutureExt;
use tokio_stream::StreamExt;
use tonic::{Status, Streaming};

use crate::api::convert::{article_from_proto, require_complete};
use crate::api::status::to_status;
use crate::article::ArticleKey;
use crate::document;
use crate::error::Error;
use crate::proto::{self, import_articles_request::Item};
use crate::store::{Store, UpsertItem, UpsertOutcome};

/// Most items committed in one transaction. Smaller batches are committed
/// as soon as the client pauses, so a slow stream still lands promptly.
pub const MAX_IMPORT_BATCH: usize = 256;
/// Most failures listed in one response; all of them are counted.
pub const MAX_REPORTED_FAILURES: usize = 1000;

/// Reads the whole stream, committing batch by batch, and sums up.
///
/// If the store fails as a whole (unavailable, say), the call fails with that
/// status: earlier batches stay committed, and since items are upserted by
/// key, sending the same stream again is safe.
pub async fn run(
    store: &dyn Store,
    mut stream: Streaming<proto::ImportArticlesRequest>,
) -> Result<proto::ImportArticlesResponse, Status> {
    let mut summary = proto::ImportArticlesResponse::default();
    let mut batch = Batch::default();
    let mut index = 0_i64;
    while let Some(message) = stream.next().await {
        batch.push(index, message?, &mut summary);
        index += 1;
        // Take whatever else has already arrived, then commit.
        while batch.items.len() < MAX_IMPORT_BATCH {
            match stream.next().now_or_never() {
                Some(Some(message)) => {
                    batch.push(index, message?, &mut summary);
                    index += 1;
                }
                _ => break,
            }
        }
        batch.commit(store, &mut summary).await?;
    }
    Ok(summary)
}

/// Items waiting for the next commit, with where each came from.
#[derive(Default)]
struct Batch {
    items: Vec<UpsertItem>,
    origins: Vec<(i64, String)>,
}

impl Batch {
    /// Converts one stream message; a bad one is counted as failed at once.
    fn push(
        &mut self,
        index: i64,
        message: proto::ImportArticlesRequest,
        summary: &mut proto::ImportArticlesResponse,
    ) {
        match item_from_message(&message) {
            Ok(item) => {
                self.items.push(item);
                self.origins.push((index, message.source));
            }
            Err(error) => record_failure(summary, index, message.source, &error),
        }
    }

    async fn commit(
        &mut self,
        store: &dyn Store,
        summary: &mut proto::ImportArticlesResponse,
    ) -> Result<(), Status> {
        if self.items.is_empty() {
            return Ok(());
        }
        let items = std::mem::take(&mut self.items);
        let origins = std::mem::take(&mut self.origins);
        let outcomes = store.upsert_batch(items).await.map_err(to_status)?;
        for ((index, source), outcome) in origins.into_iter().zip(outcomes) {
            match outcome {
                Ok(UpsertOutcome::Created(article)) => {
                    summary.created += 1;
                    summary.last_revision = summary.last_revision.max(article.revision.0);
                }
                Ok(UpsertOutcome::Updated(article)) => {
                    summary.updated += 1;
                    summary.last_revision = summary.last_revision.max(article.revision.0);
                }
                Ok(UpsertOutcome::Unchanged(_)) => summary.unchanged += 1,
                Err(error) => record_failure(summary, index, source, &error),
            }
        }
        Ok(())
    }
}

/// The key and content of one import item.
fn item_from_message(message: &proto::ImportArticlesRequest) -> Result<UpsertItem, Error> {
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

fn record_failure(
    summary: &mut proto::ImportArticlesResponse,
    index: i64,
    source: String,
    error: &Error,
) {
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
