//! Synthetic articles for the benchmark, from `newswire::synthetic`: as
//! ImportArticles requests, or loaded straight into a database by `COPY`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use newswire::proto::{ImportArticlesRequest, import_articles_request};
use newswire::synthetic::{CorpusModel, Generator};

use crate::report::progress;
use crate::rows::{self, ArticleRows};

/// The seed of every synthetic article set here.
const SEED: u64 = 2026;
/// Articles per `COPY` transaction when loading.
const LOAD_CHUNK: u64 = 20_000;

/// A generator over the shared corpus (`NEWSWIRE_CORPUS_DIR`, else
/// `../shared/corpus`).
pub fn generator() -> anyhow::Result<Generator> {
    let directory = std::env::var_os("NEWSWIRE_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus")));
    let model = CorpusModel::from_directory(&directory)
        .with_context(|| format!("learning from the corpus {}", directory.display()))?;
    Ok(Generator::new(model, SEED))
}

/// Articles `0..count` as the ImportArticles stream `newswire import` sends
/// for a generated history file.
pub fn import_requests(
    generator: &Generator,
    count: u64,
) -> anyhow::Result<Vec<ImportArticlesRequest>> {
    (0..count)
        .map(|index| {
            let article = generator.article(index)?;
            Ok(ImportArticlesRequest {
                source: article.source(),
                item: Some(import_articles_request::Item::Document(
                    newswire::document::render(&article.content),
                )),
            })
        })
        .collect()
}

/// Loads articles `0..count` into the (migrated, empty) database of
/// `client` with binary `COPY`, a transaction per `LOAD_CHUNK`, then
/// vacuums and analyses it as autovacuum would have. Returns the time the
/// `COPY`s took.
pub async fn load(
    client: &tokio_postgres::Client,
    generator: &Generator,
    count: u64,
) -> anyhow::Result<Duration> {
    let mut copying = Duration::ZERO;
    let mut start = 0;
    while start < count {
        let end = (start + LOAD_CHUNK).min(count);
        let chunk = (start..end)
            .map(|index| {
                let article = generator.article(index)?;
                ArticleRows::of(&article.key, &article.content, i64::try_from(index)? + 1)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let started = Instant::now();
        client.batch_execute("BEGIN").await?;
        rows::copy(client, &chunk).await?;
        client.batch_execute("COMMIT").await?;
        copying += started.elapsed();
        start = end;
        if start % 200_000 == 0 || start == count {
            progress(&format!("loaded {start} of {count} synthetic articles"));
        }
    }
    rows::check(client, count).await?;
    client
        .batch_execute("VACUUM (ANALYZE)")
        .await
        .context("VACUUM (ANALYZE)")?;
    Ok(copying)
}
