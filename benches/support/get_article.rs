//! The GetArticle comparison: newswire as shipped and the bare tonic
//! server, each under the same load in every round, in rotating order.

use std::sync::Arc;

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use newswire::proto::article_service_client::ArticleServiceClient;
use newswire::proto::{GetArticleRequest, GetArticleResponse, get_article_request};
use prost::Message;
use tonic::transport::Channel;

use super::corpus::SourcedDocument;
use super::import;
use super::load::{self, LoadOutcome, LoadShape, Target};
use super::process::PinnedChild;
use super::report::{percent, progress, rate, ratio, target};
use super::rounds::Rounds;

/// The servers GetArticle load runs against, in report order.
const NEWSWIRE: usize = 0;
const BARE: usize = 1;
const SERVER_NAMES: [&str; 2] = ["newswire", "bare tonic"];

/// The share of its core the bare server uses in an undisturbed round
/// (about 95% here); below it, the round measured the neighbours too.
const SATURATED: f64 = 0.9;

/// The GetArticle comparison: each server's load outcome per round,
/// servers indexed as `SERVER_NAMES`.
pub struct GetArticleRounds {
    rounds: Rounds<LoadOutcome>,
    fixed_response_bytes: usize,
    /// Smallest, mean and largest encoded real response.
    real_response_bytes: (usize, usize, usize),
}

/// Starts a newswire server over a fresh database and imports the corpus.
async fn newswire_with_corpus(
    data: &tempfile::TempDir,
    requests: &[newswire::proto::ImportArticlesRequest],
) -> anyhow::Result<PinnedChild> {
    let data_path = data.path().to_string_lossy().into_owned();
    let server = PinnedChild::start(&["serve-newswire", "127.0.0.1:0", &data_path])?;
    let (imported, summary) = import::through_service(&server, requests).await?;
    println!(
        "imported the corpus into newswire: {} created in {:.2} s",
        summary.created,
        imported.elapsed.as_secs_f64()
    );
    Ok(server)
}

/// Starts the two servers, measures `rounds` rounds of `shape` load on
/// each, and stops them.
pub async fn measure(
    rounds: usize,
    shape: LoadShape,
    documents: &[SourcedDocument],
) -> anyhow::Result<GetArticleRounds> {
    let requests = import::requests(documents);
    let newswire_data = tempfile::tempdir()?;
    let newswire = newswire_with_corpus(&newswire_data, &requests).await?;
    let keys: Arc<[String]> = documents.iter().map(key_of).collect();

    let newswire_clients = load::connect(newswire.address()?, shape.connections).await?;
    let sizes = response_sizes(&newswire_clients[0], &keys).await?;
    let fixed = fixed_response(&sizes)?;
    let fixed_file = newswire_data.path().join("fixed-response.bin");
    std::fs::write(&fixed_file, fixed.encode_to_vec())?;
    let fixed_file = fixed_file.to_string_lossy().into_owned();
    let bare = PinnedChild::start(&["serve-bare", "127.0.0.1:0", &fixed_file])?;
    progress(&format!(
        "servers up ({}); GetArticle rounds",
        bare.scheduling()
    ));

    let targets = [
        Target {
            server: &newswire,
            clients: newswire_clients,
            check_keys: true,
        },
        Target {
            server: &bare,
            clients: load::connect(bare.address()?, shape.connections).await?,
            check_keys: false,
        },
    ];
    let rounds = Rounds::measure(
        rounds,
        targets.len(),
        async |_, server| load::measure(&targets[server], &keys, shape).await,
        |round, outcomes| {
            print_get_article_round(round, outcomes);
            Ok(())
        },
    )
    .await?;
    drop(targets);
    progress("stopping the GetArticle servers");
    bare.stop().await?;
    newswire.stop().await?;
    progress("stopped");
    let real_sizes = || sizes.iter().map(|(size, _)| *size);
    Ok(GetArticleRounds {
        rounds,
        fixed_response_bytes: fixed.encoded_len(),
        real_response_bytes: (
            real_sizes().min().unwrap_or(0),
            real_sizes().sum::<usize>() / sizes.len().max(1),
            real_sizes().max().unwrap_or(0),
        ),
    })
}

/// The bare server's fixed answer: the real response whose encoded size is
/// nearest the mean, so both servers send as many bytes on average.
fn fixed_response(sizes: &[(usize, GetArticleResponse)]) -> anyhow::Result<GetArticleResponse> {
    let mean = sizes.iter().map(|(size, _)| size).sum::<usize>() / sizes.len().max(1);
    sizes
        .iter()
        .min_by_key(|(size, _)| size.abs_diff(mean))
        .map(|(_, response)| response.clone())
        .context("no responses to choose from")
}

fn print_get_article_round(round: usize, outcomes: &[LoadOutcome]) {
    let bare_rate = outcomes[BARE].calls_per_second();
    let servers: Vec<String> = outcomes
        .iter()
        .zip(SERVER_NAMES)
        .map(|(outcome, name)| {
            format!(
                "{name} {} calls/s ({} server CPU)",
                rate(outcome.calls_per_second()),
                percent(outcome.server_utilisation())
            )
        })
        .collect();
    println!(
        "GetArticle round {}: {}; ratio {}",
        round + 1,
        servers.join(", "),
        ratio(outcomes[NEWSWIRE].calls_per_second() / bare_rate),
    );
}

impl GetArticleRounds {
    /// Prints the summary; false if any call failed.
    pub fn print(&self, shape: LoadShape) -> bool {
        println!(
            "GetArticle, {} calls in flight, median of {} rounds (ratios: median of per-round ratios to bare tonic, lowest..highest):",
            shape.concurrency,
            self.rounds.len()
        );
        let mut clean = true;
        for (server, name) in SERVER_NAMES.iter().enumerate() {
            let (ok, errors, first_error) = self.rounds.of(server).fold(
                (0, 0, None::<String>),
                |(ok, errors, first), outcome| {
                    (
                        ok + outcome.ok,
                        errors + outcome.errors,
                        first.or_else(|| outcome.first_error.clone()),
                    )
                },
            );
            clean &= errors == 0;
            let ratios = if server == BARE {
                String::new()
            } else {
                format!(
                    "; ratio {} (per server CPU second: {})",
                    self.rounds
                        .ratio(server, BARE, LoadOutcome::calls_per_second),
                    self.rounds
                        .ratio(server, BARE, LoadOutcome::calls_per_server_cpu_second),
                )
            };
            println!(
                "  {name}: {} calls/s, {} per server CPU second, server core {} busy, load generator {}{ratios}",
                rate(self.rounds.median(server, LoadOutcome::calls_per_second)),
                rate(
                    self.rounds
                        .median(server, LoadOutcome::calls_per_server_cpu_second)
                ),
                percent(self.rounds.median(server, LoadOutcome::server_utilisation)),
                percent(self.rounds.median(server, LoadOutcome::client_utilisation)),
            );
            println!(
                "    {ok} OK calls, {errors} errors{}",
                first_error
                    .map(|error| format!(" (first: {error})"))
                    .unwrap_or_default()
            );
        }
        println!("  newswire / bare tonic: {}", target(">= 0.80"));
        let disturbed = self
            .rounds
            .of(BARE)
            .filter(|outcome| outcome.server_utilisation() < SATURATED)
            .count();
        if disturbed > 0 {
            println!(
                "  warning: in {disturbed} of {} rounds the bare server used less than {} of its core, which it saturates on a quiet machine: other load got in the way; rerun for cleaner figures",
                self.rounds.len(),
                percent(SATURATED)
            );
        }
        let (smallest, mean, largest) = self.real_response_bytes;
        println!(
            "  response size: bare's fixed one {} bytes; real ones {smallest}..{largest}, mean {mean}",
            self.fixed_response_bytes
        );
        clean
    }
}

/// The key newswire gives a corpus document: its file name without
/// extension (`ArticleKey::default_for`).
fn key_of(document: &SourcedDocument) -> String {
    match document.source.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_string(),
        _ => document.source.clone(),
    }
}

/// Calls in flight while fetching every article once.
const FETCH_CONCURRENCY: usize = 50;

/// Fetches every key once, checking each, and returns the encoded size
/// and the response of each.
async fn response_sizes(
    client: &ArticleServiceClient<Channel>,
    keys: &[String],
) -> anyhow::Result<Vec<(usize, GetArticleResponse)>> {
    let fetches = keys.iter().map(|key| {
        let mut client = client.clone();
        async move {
            let request = GetArticleRequest {
                lookup: Some(get_article_request::Lookup::Key(key.clone())),
            };
            let response = client
                .get_article(request)
                .await
                .with_context(|| format!("GetArticle {key:?} after the import"))?
                .into_inner();
            match &response.article {
                Some(article) if article.key == *key => {}
                _ => bail!("GetArticle {key:?} returned another article"),
            }
            anyhow::Ok((response.encoded_len(), response))
        }
    });
    // Concurrently, like the load: one call at a time would wait out
    // every delayed ACK (see the notes in docs/performance.md).
    futures::stream::iter(fetches)
        .buffered(FETCH_CONCURRENCY)
        .try_collect()
        .await
}
