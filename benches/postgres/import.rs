//! ImportArticles into newswire on PostgreSQL against binary `COPY` of the
//! same rows, each round into two fresh databases, in rotating order.
//!
//! - *ImportArticles*: a pinned newswire server child over a fresh
//!   database; this process streams every synthetic document in one
//!   client-streaming call (requests built before the clock starts) and
//!   times it until the response, which must count every item created.
//! - *COPY*: this process parses the same documents and computes every row
//!   first (`rows::ArticleRows`: ids, front-matter JSON, etags, search
//!   words), then times one transaction of binary `COPY`s into a fresh
//!   database migrated by the store, from `BEGIN` to `COMMIT`.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use newswire::article::ArticleKey;
use newswire::proto::article_service_client::ArticleServiceClient;
use newswire::proto::{ImportArticlesRequest, import_articles_request};
use newswire::store::postgres::PostgresStore;
use tonic::transport::Endpoint;

use crate::database::{self, BenchDatabase};
use crate::process::PinnedChild;
use crate::report::{progress, rate, ratio, target};
use crate::rounds::Rounds;
use crate::rows::{self, ArticleRows};
use crate::synthetic;

/// The longest one import may take before the round counts as failed.
const IMPORT_TIMEOUT: Duration = Duration::from_secs(600);

/// The two ways an import round writes the documents, in report order.
const SERVICE: usize = 0;
const COPY: usize = 1;
const NAMES: [&str; 2] = ["ImportArticles", "COPY"];

/// Each way's elapsed time per round, indexed as `NAMES`.
pub struct ImportRounds {
    items: u64,
    rounds: Rounds<Duration>,
}

pub async fn measure(round_count: usize, items: u64) -> anyhow::Result<ImportRounds> {
    let requests = synthetic::import_requests(&synthetic::generator()?, items)?;
    let rounds = Rounds::measure(
        round_count,
        NAMES.len(),
        async |round, way| {
            progress(&format!("import round {}: {}", round + 1, NAMES[way]));
            match way {
                SERVICE => through_service(&requests).await,
                _ => through_copy(&requests).await,
            }
        },
        |round, elapsed| {
            let (service, copy) = (elapsed[SERVICE], elapsed[COPY]);
            println!(
                "import round {}: ImportArticles {} docs/s ({:.2} s), COPY {} docs/s ({:.2} s); ratio {}",
                round + 1,
                rate(items as f64 / service.as_secs_f64()),
                service.as_secs_f64(),
                rate(items as f64 / copy.as_secs_f64()),
                copy.as_secs_f64(),
                ratio(copy.as_secs_f64() / service.as_secs_f64()),
            );
            Ok(())
        },
    )
    .await?;
    Ok(ImportRounds { items, rounds })
}

async fn through_service(requests: &[ImportArticlesRequest]) -> anyhow::Result<Duration> {
    let database = BenchDatabase::create().await?;
    let server = PinnedChild::start(&["serve-newswire-postgres", "127.0.0.1:0", database.url()])?;
    let channel = Endpoint::from_shared(format!("http://{}", server.address()?))?
        .connect()
        .await
        .context("connecting for the import")?;
    let mut client = ArticleServiceClient::new(channel);
    let stream = tokio_stream::iter(requests.to_vec());
    let started = Instant::now();
    let summary = tokio::time::timeout(IMPORT_TIMEOUT, client.import_articles(stream))
        .await
        .context("the import timed out")?
        .context("the import failed")?
        .into_inner();
    let elapsed = started.elapsed();
    if summary.failed > 0 || usize::try_from(summary.created)? != requests.len() {
        bail!(
            "ImportArticles created {} and failed {} of {} items; first failure: {:?}",
            summary.created,
            summary.failed,
            requests.len(),
            summary.failures.first()
        );
    }
    drop(client);
    server.stop().await?;
    drop(database);
    Ok(elapsed)
}

async fn through_copy(requests: &[ImportArticlesRequest]) -> anyhow::Result<Duration> {
    let database = BenchDatabase::create().await?;
    PostgresStore::connect(database.url(), newswire::wire::article_encoder())
        .await
        .context("migrating the database")?;
    let rows = requests
        .iter()
        .enumerate()
        .map(|(index, request)| {
            let Some(import_articles_request::Item::Document(text)) = &request.item else {
                bail!("request {index} is not a document");
            };
            let content = newswire::document::parse(&request.source, text)?;
            let key = ArticleKey::default_for(Some(&request.source), &content)?;
            ArticleRows::of(&key, &content, i64::try_from(index)? + 1)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let client = database::connect(database.url()).await?;
    let started = Instant::now();
    client.batch_execute("BEGIN").await?;
    rows::copy(&client, &rows).await?;
    client.batch_execute("COMMIT").await?;
    let elapsed = started.elapsed();
    rows::check(&client, u64::try_from(rows.len())?).await?;
    drop(client);
    drop(database);
    Ok(elapsed)
}

impl ImportRounds {
    pub fn print(&self) {
        let per_second = |elapsed: &Duration| self.items as f64 / elapsed.as_secs_f64();
        println!(
            "Import of {} synthetic articles into a fresh database, median of {} rounds:",
            self.items,
            self.rounds.len()
        );
        println!(
            "  ImportArticles: {} docs/s ({:.2} s)",
            rate(self.rounds.median(SERVICE, per_second)),
            self.rounds.median(SERVICE, Duration::as_secs_f64),
        );
        println!(
            "  binary COPY: {} rows/s ({:.2} s)",
            rate(self.rounds.median(COPY, per_second)),
            self.rounds.median(COPY, Duration::as_secs_f64),
        );
        println!(
            "  ratio ImportArticles / COPY: {}; {}",
            self.rounds.ratio(SERVICE, COPY, per_second),
            target(">= 0.50")
        );
    }
}
