//! NATS beside the figures: the same pre-built events fanned out by the
//! local nats-server (127.0.0.1:4222) to the same number of subscribers,
//! with the same method, so that a reader sees what a broker gives on this
//! machine. Core NATS (at most once, no flow control) and JetStream (each
//! publish acknowledged once stored; every subscriber an ordered push
//! consumer, so an event reaches it only once stored). nats-server is not
//! pinned: it is a separate daemon, as PostgreSQL is in the other
//! benchmarks. If it cannot be reached the rows are skipped, and said so.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use newswire::proto::WatchArticlesResponse;
use newswire::wire::timestamp;
use prost::Message;

use super::fanout::Progress;
use super::latency::milliseconds_since;
use super::report::{median, progress, rate};

/// Where the local nats-server listens.
const ADDRESS: &str = "127.0.0.1:4222";
/// The subject (and JetStream stream) of one round; unique per round.
const SUBJECT_PREFIX: &str = "newswire-bench";
/// How long every subscriber may take to receive everything.
const DEADLINE: Duration = Duration::from_secs(120);
/// Events each subscriber's client may queue: more than a round sends.
const SUBSCRIPTION_CAPACITY: usize = 1 << 16;
/// The payload that checks a subscription is live; never an event.
const PROBE: &[u8] = b"probe";
/// How long a subscriber is given for a probe before the next is sent.
const PROBE_INTERVAL: Duration = Duration::from_millis(20);

/// Which NATS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Core,
    JetStream,
}

impl Flavour {
    pub const ALL: [Flavour; 2] = [Flavour::Core, Flavour::JetStream];

    fn name(self) -> &'static str {
        match self {
            Flavour::Core => "core NATS",
            Flavour::JetStream => "JetStream (acked publish, ordered consumers)",
        }
    }
}

/// Whether nats-server answers; the reason if not. (Whether JetStream is
/// enabled shows when its rows create their stream.)
pub async fn unreachable() -> Option<String> {
    match tokio::time::timeout(Duration::from_secs(5), connect()).await {
        Ok(Ok(_)) => None,
        Ok(Err(error)) => Some(format!("no nats-server at {ADDRESS}: {error:#}")),
        Err(_) => Some(format!("no answer from {ADDRESS} within 5 s")),
    }
}

/// Prints the skipped rows.
pub fn print_skipped(rows: &str, reason: &str) {
    println!();
    println!("{rows} SKIPPED: {reason}");
}

/// Fan-out rounds of one flavour: delivered events per second.
pub async fn fanout(
    rounds: usize,
    flavour: Flavour,
    watchers: usize,
    connections: usize,
    events: &[WatchArticlesResponse],
) -> anyhow::Result<()> {
    let payloads: Vec<Bytes> = events
        .iter()
        .map(|event| Bytes::from(event.encode_to_vec()))
        .collect();
    let mut rates = Vec::new();
    for round in 0..rounds {
        progress(&format!(
            "NATS fan-out round {}/{rounds}: {}, {watchers} subscribers",
            round + 1,
            flavour.name()
        ));
        let mut setup = Setup::new(flavour, watchers, connections).await?;
        let all_done = Arc::new(Progress::default());
        let target = payloads.len();
        for mut subscription in setup.take_subscriptions() {
            let all_done = Arc::clone(&all_done);
            setup.tasks.push(tokio::spawn(async move {
                let mut received = 0;
                while let Some(payload) = subscription.next().await {
                    if payload.as_ref() == PROBE {
                        continue;
                    }
                    // Decoded, as a gRPC watcher decodes each event.
                    if WatchArticlesResponse::decode(payload).is_ok() {
                        received += 1;
                        if received == target {
                            all_done.add_one();
                        }
                    }
                }
            }));
        }
        let started = Instant::now();
        let mut acks = Vec::new();
        for payload in &payloads {
            acks.extend(setup.publish(payload.clone()).await?);
        }
        setup.flush(acks).await?;
        wait(&all_done, watchers).await?;
        rates.push((watchers * target) as f64 / started.elapsed().as_secs_f64());
        setup.finish().await?;
    }
    println!(
        "  {}: {} delivered events/s (rounds {}..{})",
        flavour.name(),
        rate(median(rates.iter().copied())),
        rate(rates.iter().copied().fold(f64::INFINITY, f64::min)),
        rate(rates.iter().copied().fold(0.0, f64::max)),
    );
    Ok(())
}

/// Latency rounds of one flavour: `rate` events per second for `duration`,
/// each stamped as it is published; p50 and p99 of arrival − stamp.
pub async fn latency(
    rounds: usize,
    flavour: Flavour,
    watchers: usize,
    connections: usize,
    events: &[WatchArticlesResponse],
    (per_second, duration, burst): (usize, Duration, usize),
) -> anyhow::Result<()> {
    let changes = per_second * duration.as_secs() as usize;
    let mut percentiles = Vec::new();
    for round in 0..rounds {
        progress(&format!(
            "NATS latency round {}/{rounds}: {}, {watchers} subscribers",
            round + 1,
            flavour.name()
        ));
        let mut setup = Setup::new(flavour, watchers, connections).await?;
        let mut collectors = Vec::new();
        for mut subscription in setup.take_subscriptions() {
            collectors.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(changes);
                while let Some(payload) = subscription.next().await {
                    if payload.as_ref() == PROBE {
                        continue;
                    }
                    let Ok(response) = WatchArticlesResponse::decode(payload) else {
                        continue;
                    };
                    let Some(committed) = response.event.and_then(|event| event.commit_time) else {
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
        let mut ticks =
            tokio::time::interval(Duration::from_secs(1) * burst as u32 / per_second as u32);
        let mut acks = Vec::new();
        for sent in 0..changes {
            if sent % burst == 0 {
                ticks.tick().await;
            }
            // Stamped now, as the bare server stamps what it broadcasts.
            let mut event = events[sent % events.len()].clone();
            if let Some(event) = event.event.as_mut() {
                event.commit_time = Some(timestamp(chrono::Utc::now()));
            }
            acks.extend(setup.publish(Bytes::from(event.encode_to_vec())).await?);
        }
        setup.flush(acks).await?;
        let started = Instant::now();
        let mut all = Vec::with_capacity(changes * watchers);
        for collector in collectors {
            let remaining = DEADLINE.saturating_sub(started.elapsed());
            let latencies = tokio::time::timeout(remaining, collector)
                .await
                .context("a NATS subscriber never got every event")??;
            if latencies.len() != changes {
                bail!(
                    "a NATS subscriber got {} of {changes} events",
                    latencies.len()
                );
            }
            all.extend(latencies);
        }
        all.sort_by(f64::total_cmp);
        let at = |quantile: f64| all[((all.len() - 1) as f64 * quantile).round() as usize];
        percentiles.push((at(0.50), at(0.99)));
        setup.finish().await?;
    }
    println!(
        "  {}: p50 {:.2} ms, p99 {:.2} ms",
        flavour.name(),
        median(percentiles.iter().map(|round| round.0)),
        median(percentiles.iter().map(|round| round.1)),
    );
    Ok(())
}

/// One round's connections, subscriptions (probed live) and publisher.
struct Setup {
    flavour: Flavour,
    subject: String,
    publisher: async_nats::Client,
    jetstream: jetstream::Context,
    /// The subscribers' connections, `connections` of them.
    clients: Vec<async_nats::Client>,
    subscriptions: Vec<BoxStream<'static, Bytes>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Setup {
    async fn new(flavour: Flavour, watchers: usize, connections: usize) -> anyhow::Result<Self> {
        static ROUND: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "{SUBJECT_PREFIX}-{}-{}",
            std::process::id(),
            ROUND.fetch_add(1, Ordering::SeqCst)
        );
        let publisher = connect().await?;
        let jetstream = jetstream::new(publisher.clone());
        if flavour == Flavour::JetStream {
            jetstream
                .create_stream(stream::Config {
                    name: name.clone(),
                    subjects: vec![name.clone()],
                    storage: stream::StorageType::File,
                    ..stream::Config::default()
                })
                .await
                .context("creating the JetStream stream")?;
        }
        let mut clients = Vec::new();
        for _ in 0..connections {
            clients.push(connect().await?);
        }
        let mut subscriptions = Vec::new();
        for index in 0..watchers {
            let client = &clients[index % connections];
            let subscription: BoxStream<'static, Bytes> = match flavour {
                Flavour::Core => client
                    .subscribe(name.clone())
                    .await?
                    .map(|message| message.payload)
                    .boxed(),
                Flavour::JetStream => {
                    // Each consumer is delivered on its subscriber's connection.
                    jetstream::new(client.clone())
                        .get_stream(&name)
                        .await?
                        .create_consumer(consumer::push::OrderedConfig {
                            deliver_subject: client.new_inbox(),
                            filter_subject: name.clone(),
                            deliver_policy: consumer::DeliverPolicy::New,
                            ..consumer::push::OrderedConfig::default()
                        })
                        .await?
                        .messages()
                        .await?
                        .filter_map(
                            |message| async move { message.ok().map(|m| m.message.payload) },
                        )
                        .boxed()
                }
            };
            subscriptions.push(subscription);
        }
        let mut setup = Self {
            flavour,
            subject: name,
            publisher,
            jetstream,
            clients,
            subscriptions,
            tasks: Vec::new(),
        };
        setup.probe().await?;
        Ok(setup)
    }

    /// Publishes probes until every subscription has had one, so that all
    /// are known to be live before the clock starts: the client's flush
    /// is no barrier against a publish overtaking another connection's
    /// SUB. Probes still in flight are skipped by the measurement.
    async fn probe(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + DEADLINE;
        let mut waiting: Vec<usize> = (0..self.subscriptions.len()).collect();
        while !waiting.is_empty() {
            if Instant::now() > deadline {
                bail!(
                    "{} NATS subscribers did not get a probe within {DEADLINE:?}",
                    waiting.len()
                );
            }
            let acks = self.publish(Bytes::from_static(PROBE)).await?;
            self.flush(acks.into_iter().collect()).await?;
            let mut still_waiting = Vec::new();
            for index in waiting {
                let next = self.subscriptions[index].next();
                match tokio::time::timeout(PROBE_INTERVAL, next).await {
                    // Nothing but probes has been published yet.
                    Ok(Some(_)) => {}
                    Ok(None) => bail!("a NATS subscription ended before its probe"),
                    Err(_) => still_waiting.push(index),
                }
            }
            waiting = still_waiting;
        }
        Ok(())
    }

    fn take_subscriptions(&mut self) -> Vec<BoxStream<'static, Bytes>> {
        std::mem::take(&mut self.subscriptions)
    }

    /// Publishes `payload`; for JetStream, the acknowledgement to await.
    async fn publish(
        &self,
        payload: Bytes,
    ) -> anyhow::Result<Option<jetstream::context::PublishAckFuture>> {
        match self.flavour {
            Flavour::Core => {
                self.publisher
                    .publish(self.subject.clone(), payload)
                    .await?;
                Ok(None)
            }
            Flavour::JetStream => Ok(Some(
                self.jetstream
                    .publish(self.subject.clone(), payload)
                    .await?,
            )),
        }
    }

    /// Sends what is buffered; for JetStream, waits for every acknowledgement.
    async fn flush(&self, acks: Vec<jetstream::context::PublishAckFuture>) -> anyhow::Result<()> {
        self.publisher.flush().await?;
        for ack in acks {
            ack.await
                .context("a JetStream publish was not acknowledged")?;
        }
        Ok(())
    }

    /// Ends the subscribers and removes the round's stream.
    async fn finish(self) -> anyhow::Result<()> {
        for task in &self.tasks {
            task.abort();
        }
        // The subscribers' connections close.
        drop(self.clients);
        if self.flavour == Flavour::JetStream {
            self.jetstream.delete_stream(&self.subject).await?;
        }
        Ok(())
    }
}

async fn connect() -> anyhow::Result<async_nats::Client> {
    async_nats::ConnectOptions::new()
        .subscription_capacity(SUBSCRIPTION_CAPACITY)
        .connect(ADDRESS)
        .await
        .context("connecting to nats-server")
}

async fn wait(progress: &Progress, count: usize) -> anyhow::Result<()> {
    tokio::time::timeout(DEADLINE, progress.wait_for(count))
        .await
        .context("NATS subscribers did not get every event in time")?
}
