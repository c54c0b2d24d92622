//! The GetArticle load generator: a fixed number of calls in flight over a
//! few HTTP/2 connections, keys taken round-robin, every response checked.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use newswire::proto::article_service_client::ArticleServiceClient;
use newswire::proto::{GetArticleRequest, get_article_request};
use tonic::transport::{Channel, Endpoint};

use super::process::{PinnedChild, own_cpu_time};

/// How the load is shaped.
#[derive(Debug, Clone, Copy)]
pub struct LoadShape {
    /// Calls in flight at any moment: one task per call slot.
    pub concurrency: usize,
    /// HTTP/2 connections the tasks share (task i uses connection i mod n).
    pub connections: usize,
    /// Calls before the measured window, to warm caches and connections.
    pub warm_up: Duration,
    /// The measured window.
    pub duration: Duration,
    /// A bound on the calls of one task in one window, whatever the clock.
    pub max_calls_per_task: u64,
}

/// What one measured window saw.
#[derive(Debug, Clone, Default)]
pub struct LoadOutcome {
    pub ok: u64,
    pub errors: u64,
    /// The first error, to say what went wrong.
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// CPU the server process used during the window.
    pub server_cpu: Duration,
    /// CPU this process (the load generator) used during the window.
    pub client_cpu: Duration,
}

impl LoadOutcome {
    /// Successful calls per second of wall time.
    pub fn calls_per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// Share of its core the server used (1.0 = saturated).
    pub fn server_utilisation(&self) -> f64 {
        self.server_cpu.as_secs_f64() / self.elapsed.as_secs_f64()
    }

    /// Share of its core the load generator used.
    pub fn client_utilisation(&self) -> f64 {
        self.client_cpu.as_secs_f64() / self.elapsed.as_secs_f64()
    }

    /// Successful calls per second of server CPU: throughput with the
    /// client's speed factored out.
    pub fn calls_per_server_cpu_second(&self) -> f64 {
        self.ok as f64 / self.server_cpu.as_secs_f64().max(1e-9)
    }
}

/// A server under load: where it listens and its process, for CPU.
pub struct Target<'a> {
    pub server: &'a PinnedChild,
    pub clients: Vec<ArticleServiceClient<Channel>>,
    /// Whether each response must be the article asked for (the bare
    /// server answers every key with the same article).
    pub check_keys: bool,
}

/// Opens `count` separate HTTP/2 connections to `address`.
pub async fn connect(
    address: SocketAddr,
    count: usize,
) -> anyhow::Result<Vec<ArticleServiceClient<Channel>>> {
    let mut clients = Vec::with_capacity(count);
    for _ in 0..count {
        let channel = Endpoint::from_shared(format!("http://{address}"))?
            .connect_timeout(Duration::from_secs(10))
            .connect()
            .await
            .with_context(|| format!("connecting to {address}"))?;
        clients.push(ArticleServiceClient::new(channel));
    }
    Ok(clients)
}

/// Warms up, then measures one window of GetArticle load on `target`.
pub async fn measure(
    target: &Target<'_>,
    keys: &Arc<[String]>,
    shape: LoadShape,
) -> anyhow::Result<LoadOutcome> {
    window(target, keys, shape, shape.warm_up).await?;
    let server_before = target.server.cpu_time()?;
    let client_before = own_cpu_time()?;
    let mut outcome = window(target, keys, shape, shape.duration).await?;
    outcome.server_cpu = target.server.cpu_time()?.saturating_sub(server_before);
    outcome.client_cpu = own_cpu_time()?.saturating_sub(client_before);
    Ok(outcome)
}

/// Runs `shape.concurrency` call loops for `length`, then waits for the
/// calls in flight; the elapsed time includes that drain.
async fn window(
    target: &Target<'_>,
    keys: &Arc<[String]>,
    shape: LoadShape,
    length: Duration,
) -> anyhow::Result<LoadOutcome> {
    let next_key = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + length;
    let mut tasks = Vec::with_capacity(shape.concurrency);
    for slot in 0..shape.concurrency {
        let client = target.clients[slot % target.clients.len()].clone();
        let keys = Arc::clone(keys);
        let next_key = Arc::clone(&next_key);
        let check_keys = target.check_keys;
        tasks.push(tokio::spawn(call_loop(
            client,
            keys,
            next_key,
            check_keys,
            deadline,
            shape.max_calls_per_task,
        )));
    }
    let mut outcome = LoadOutcome::default();
    for task in tasks {
        let part = task.await.context("a load task panicked")?;
        outcome.ok += part.ok;
        outcome.errors += part.errors;
        if outcome.first_error.is_none() {
            outcome.first_error = part.first_error;
        }
    }
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

async fn call_loop(
    mut client: ArticleServiceClient<Channel>,
    keys: Arc<[String]>,
    next_key: Arc<AtomicUsize>,
    check_keys: bool,
    deadline: Instant,
    max_calls: u64,
) -> LoadOutcome {
    let mut outcome = LoadOutcome::default();
    for _ in 0..max_calls {
        if Instant::now() >= deadline {
            break;
        }
        let key = &keys[next_key.fetch_add(1, Ordering::Relaxed) % keys.len()];
        let request = GetArticleRequest {
            lookup: Some(get_article_request::Lookup::Key(key.clone())),
        };
        let problem = match client.get_article(request).await {
            Ok(response) => match response.into_inner().article {
                Some(article) if !check_keys || article.key == *key => None,
                Some(article) => Some(format!("asked for {key:?}, got {:?}", article.key)),
                None => Some(format!("{key:?}: OK without an article")),
            },
            Err(status) => Some(format!("{key:?}: {:?} {}", status.code(), status.message())),
        };
        match problem {
            None => outcome.ok += 1,
            Some(problem) => {
                outcome.errors += 1;
                outcome.first_error.get_or_insert(problem);
            }
        }
    }
    outcome
}
