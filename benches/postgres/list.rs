//! ListArticles deep in a large table: the latency of page P (following
//! page tokens from page 1) against page 1 of the same query, through
//! newswire on PostgreSQL. Keyset pages should cost the same wherever they
//! are; an offset would make page 1,000 scan 50,000 rows first.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use newswire::proto::article_service_client::ArticleServiceClient;
use newswire::proto::{ArticleQuery, ListArticlesRequest};
use newswire::store::postgres::PostgresStore;
use newswire::synthetic::Generator;
use tonic::transport::{Channel, Endpoint};

use crate::database::{self, BenchDatabase};
use crate::process::PinnedChild;
use crate::report::{median, progress, ratio, ratio_with_spread, target};
use crate::synthetic;

/// Articles per page: the API's default.
const PAGE_SIZE: i32 = 50;

/// A loaded database and the server over it.
pub struct LoadedDatabase {
    pub database: BenchDatabase,
    pub articles: u64,
    pub generator: Generator,
    pub load_time: Duration,
}

/// A fresh database holding `articles` synthetic articles.
pub async fn loaded_database(articles: u64) -> anyhow::Result<LoadedDatabase> {
    let database = BenchDatabase::create().await?;
    PostgresStore::connect(database.url(), newswire::wire::article_encoder())
        .await
        .context("migrating the database")?;
    let client = database::connect(database.url()).await?;
    let generator = synthetic::generator()?;
    progress(&format!("List: loading {articles} synthetic articles"));
    let started = Instant::now();
    synthetic::load(&client, &generator, articles).await?;
    Ok(LoadedDatabase {
        database,
        articles,
        generator,
        load_time: started.elapsed(),
    })
}

/// One query's latencies: `rounds[round]` = (page 1, page P) medians.
struct QueryRounds {
    label: String,
    rounds: Vec<(Duration, Duration)>,
}

pub struct ListRounds {
    articles: u64,
    page: usize,
    load_time: Duration,
    queries: Vec<QueryRounds>,
}

/// The queries measured: the default order, another order, a filter.
fn queries(generator: &Generator) -> Vec<(String, Option<ArticleQuery>, &'static str)> {
    let mut counts = std::collections::HashMap::<&str, usize>::new();
    for topic in generator.model().topic_lists.values().iter().flatten() {
        *counts.entry(topic).or_default() += 1;
    }
    let top_topic = counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(topic, _)| topic.to_string())
        .unwrap_or_default();
    vec![
        ("no filter, newest first".to_string(), None, ""),
        ("no filter, heat desc".to_string(), None, "heat desc"),
        (
            format!("topic {top_topic:?}, newest first"),
            Some(ArticleQuery {
                topics: vec![top_topic],
                ..ArticleQuery::default()
            }),
            "",
        ),
    ]
}

/// Measures `rounds` rounds of `repeats` alternating calls to page 1 and
/// page `page` of each query.
pub async fn measure(
    loaded: &LoadedDatabase,
    rounds: usize,
    repeats: usize,
    page: usize,
) -> anyhow::Result<ListRounds> {
    let server = PinnedChild::start(&[
        "serve-newswire-postgres",
        "127.0.0.1:0",
        loaded.database.url(),
    ])?;
    let channel = Endpoint::from_shared(format!("http://{}", server.address()?))?
        .connect()
        .await?;
    let mut client = ArticleServiceClient::new(channel).max_decoding_message_size(64 << 20);
    let mut measured = Vec::new();
    for (label, query, order_by) in queries(&loaded.generator) {
        let request = ListArticlesRequest {
            query,
            order_by: order_by.to_string(),
            page_size: PAGE_SIZE,
            page_token: String::new(),
        };
        progress(&format!("List {label}: following tokens to page {page}"));
        let deep = token_of_page(&mut client, &request, page).await?;
        let deep_request = ListArticlesRequest {
            page_token: deep,
            ..request.clone()
        };
        let mut query_rounds = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let (mut first, mut far) = (Vec::new(), Vec::new());
            for _ in 0..repeats {
                first.push(timed_page(&mut client, &request).await?);
                far.push(timed_page(&mut client, &deep_request).await?);
            }
            let middle = |times: Vec<Duration>| {
                Duration::from_secs_f64(median(times.iter().map(Duration::as_secs_f64)))
            };
            query_rounds.push((middle(first), middle(far)));
        }
        let last = query_rounds.last().copied().unwrap_or_default();
        println!(
            "List {label}: page 1 {:.2} ms, page {page} {:.2} ms (last round); ratio {}",
            last.0.as_secs_f64() * 1e3,
            last.1.as_secs_f64() * 1e3,
            ratio(last.1.as_secs_f64() / last.0.as_secs_f64())
        );
        measured.push(QueryRounds {
            label,
            rounds: query_rounds,
        });
    }
    drop(client);
    server.stop().await?;
    Ok(ListRounds {
        articles: loaded.articles,
        page,
        load_time: loaded.load_time,
        queries: measured,
    })
}

/// The page token that fetches page `page` (1-based) of `request`.
async fn token_of_page(
    client: &mut ArticleServiceClient<Channel>,
    request: &ListArticlesRequest,
    page: usize,
) -> anyhow::Result<String> {
    let mut token = String::new();
    for number in 1..page {
        let response = client
            .list_articles(ListArticlesRequest {
                page_token: token,
                ..request.clone()
            })
            .await
            .with_context(|| format!("page {number}"))?
            .into_inner();
        if response.next_page_token.is_empty() {
            bail!("the query has only {number} pages, fewer than {page}: load more articles");
        }
        token = response.next_page_token;
    }
    Ok(token)
}

/// The latency of one page, which must be full.
async fn timed_page(
    client: &mut ArticleServiceClient<Channel>,
    request: &ListArticlesRequest,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let response = client.list_articles(request.clone()).await?.into_inner();
    let elapsed = started.elapsed();
    if response.articles.len() != PAGE_SIZE as usize {
        bail!(
            "a page of {} articles, not {PAGE_SIZE}",
            response.articles.len()
        );
    }
    Ok(elapsed)
}

impl ListRounds {
    pub fn print(&self) {
        println!(
            "ListArticles over {} synthetic articles (loaded by COPY in {:.0} s), pages of {PAGE_SIZE}, median of {} rounds:",
            self.articles,
            self.load_time.as_secs_f64(),
            self.queries.first().map_or(0, |query| query.rounds.len()),
        );
        for query in &self.queries {
            println!(
                "  {}: page 1 {:.2} ms, page {} {:.2} ms; ratio page {} / page 1: {}",
                query.label,
                median(query.rounds.iter().map(|(first, _)| first.as_secs_f64())) * 1e3,
                self.page,
                median(query.rounds.iter().map(|(_, far)| far.as_secs_f64())) * 1e3,
                self.page,
                ratio_with_spread(
                    query
                        .rounds
                        .iter()
                        .map(|(first, far)| far.as_secs_f64() / first.as_secs_f64())
                ),
            );
        }
        println!("  page {} / page 1: {}", self.page, target("<= 1.50"));
    }
}
