//! The streams benchmark: `cargo bench --bench streams`.
//!
//! Change-feed fan-out: W watchers over C connections receive every change
//! of an import of the corpus (736 creates). newswire (SQLite store, its
//! own change feed) against a bare tonic server that broadcasts the same
//! events, pre-built, through a tokio broadcast channel as the import's
//! items arrive: the gap is what newswire's feed costs beyond HTTP/2 and
//! protobuf. Reported as delivered events per second (W × 736 / time from
//! the import's start to the last watcher's last event), the ratio, and
//! server memory per idle watcher. Then commit-to-delivery latency (p50,
//! p99) of 100 watchers while 1,000 changes per second are committed.
//! Then StreamArticles against a bare stream of the same messages, and its
//! peak memory for 10,000 against 1,000,000 matching articles (and
//! 100,000 between).
//! Servers run pinned to core 0 with one
//! Tokio worker, the watchers here on core 1; medians of several rounds,
//! the contenders alternating. See `docs/performance.md`, "Streams".
//!
//! Beside them, the same pre-built events fanned out by the local
//! nats-server (core NATS and JetStream), if it answers (`nats`).
//!
//! The binary also plays the pinned children: `serve-newswire ADDRESS DIR`
//! and `serve-bare ADDRESS`. Without `--bench` (as `cargo test
//! --all-targets` runs it) it does one small round and checks the harness.
//! `--only PART` (repeatable: `fanout`, `latency`, `nats`,
//! `stream-articles`) runs only those parts;
//! `NEWSWIRE_BENCH_STREAM_COUNTS=10000,1000000` sets StreamArticles'
//! database sizes, and `NEWSWIRE_BENCH_STREAM_DATA=DIR` keeps those
//! databases for the next run.

mod bare_feed;
#[path = "../support/bare_server.rs"]
mod bare_server;
#[path = "../support/child.rs"]
mod child;
#[path = "../support/corpus.rs"]
#[allow(dead_code)]
mod corpus;
mod fanout;
#[path = "../support/harness.rs"]
mod harness;
mod latency;
#[path = "../support/machine.rs"]
#[allow(dead_code)]
mod machine;
mod nats;
#[path = "../support/process.rs"]
#[allow(dead_code)]
mod process;
#[path = "../support/report.rs"]
#[allow(dead_code)]
mod report;
#[path = "../support/rounds.rs"]
#[allow(dead_code)]
mod rounds;
#[path = "../support/settings.rs"]
mod settings;
#[path = "../support/sqlite_server.rs"]
mod sqlite_server;
mod stream_articles;

use std::process::ExitCode;

use anyhow::Context;

use harness::Run;
use machine::{Machine, load_average};
use process::{CLIENT_CORE, SERVER_CORE};

/// What to run.
#[derive(Debug, Clone)]
struct Plan {
    rounds: usize,
    /// (watchers, connections) per measurement.
    shapes: Vec<(usize, usize)>,
    /// (watchers, connections) of the latency measurement.
    latency: (usize, usize),
    /// Database sizes StreamArticles streams.
    stream_counts: Vec<usize>,
    prioritise: bool,
    /// The parts to run (`--only`); all when empty.
    only: Vec<String>,
}

/// The parts `--only` may name.
const PARTS: [&str; 4] = ["fanout", "latency", "nats", "stream-articles"];

impl Plan {
    /// `--only` and `NEWSWIRE_BENCH_STREAM_COUNTS` applied.
    fn with_arguments(mut self, arguments: &[String]) -> anyhow::Result<Self> {
        let mut rest = arguments.iter();
        while let Some(argument) = rest.next() {
            if argument == "--only" {
                let part = rest.next().context("--only needs a part")?;
                if !PARTS.contains(&part.as_str()) {
                    anyhow::bail!("--only {part}: not one of {PARTS:?}");
                }
                self.only.push(part.clone());
            }
        }
        if let Ok(counts) = std::env::var("NEWSWIRE_BENCH_STREAM_COUNTS") {
            self.stream_counts = counts
                .split(',')
                .map(|count| count.trim().parse())
                .collect::<Result<_, _>>()
                .context("NEWSWIRE_BENCH_STREAM_COUNTS: counts separated by commas")?;
        }
        Ok(self)
    }

    fn runs(&self, part: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|only| only == part)
    }
}

impl Plan {
    fn full() -> Self {
        Self {
            rounds: 5,
            shapes: vec![(100, 4), (1000, 10)],
            latency: (100, 4),
            stream_counts: vec![10_000, 100_000, 1_000_000],
            prioritise: true,
            only: Vec::new(),
        }
    }

    fn smoke() -> Self {
        Self {
            rounds: 1,
            shapes: vec![(10, 2)],
            latency: (2, 1),
            stream_counts: vec![200, 400],
            prioritise: false,
            only: Vec::new(),
        }
    }
}

fn main() -> ExitCode {
    harness::main(
        "streams benchmark",
        &[
            ("serve-newswire", sqlite_server::serve),
            ("serve-bare", bare_feed::serve),
        ],
        |run, arguments| {
            let plan = match run {
                Run::Full => Plan::full(),
                Run::Smoke => Plan::smoke(),
            }
            .with_arguments(arguments)?;
            harness::on_the_client_core(plan.prioritise, |machine, scheduling| {
                measure(plan, machine, scheduling)
            })
        },
    )
}

/// Runs the plan's parts; `Ok(false)` if any call failed.
async fn measure(plan: Plan, machine: Machine, scheduling: String) -> anyhow::Result<bool> {
    harness::print_title("streams benchmark", &machine);
    println!(
        "servers pinned to core {SERVER_CORE} (TOKIO_WORKER_THREADS=1); watchers pinned to core {} (asked: {CLIENT_CORE}); scheduling: {scheduling}; {} rounds",
        process::allowed_cores(),
        plan.rounds,
    );
    let documents = corpus::documents()?;
    let mut clean = true;
    if plan.runs("fanout") {
        for &(watchers, connections) in &plan.shapes {
            let result = fanout::measure(plan.rounds, watchers, connections, &documents).await?;
            clean &= result.print();
        }
    }
    let (watchers, connections) = plan.latency;
    if plan.runs("latency") {
        latency::measure(plan.rounds, watchers, connections, &documents)
            .await?
            .print();
    }
    if plan.runs("nats") {
        run_nats(&plan).await?;
    }
    if plan.runs("stream-articles") {
        stream_articles::measure(plan.rounds.min(3), &plan.stream_counts, &documents)
            .await?
            .print();
    }
    println!("load average at the end: {}", load_average());
    Ok(clean)
}

/// The NATS rows, or a clear line saying why they are skipped.
async fn run_nats(plan: &Plan) -> anyhow::Result<()> {
    if let Some(reason) = nats::unreachable().await {
        nats::print_skipped("NATS rows", &reason);
        return Ok(());
    }
    let events = bare_feed::prebuilt_events()?;
    for &(watchers, connections) in &plan.shapes {
        println!();
        println!(
            "NATS fan-out: {watchers} subscribers over {connections} connections, {} events each (nats-server not pinned)",
            events.len()
        );
        for flavour in nats::Flavour::ALL {
            let measured = nats::fanout(plan.rounds, flavour, watchers, connections, &events).await;
            skip_if_failed(flavour, measured)?;
        }
    }
    let (watchers, connections) = plan.latency;
    println!();
    println!(
        "NATS publish-to-delivery latency: {watchers} subscribers, {} events/s for {:?}",
        latency::RATE,
        latency::DURATION
    );
    for flavour in nats::Flavour::ALL {
        let measured = nats::latency(
            plan.rounds,
            flavour,
            watchers,
            connections,
            &events,
            (latency::RATE, latency::DURATION, latency::BURST),
        )
        .await;
        skip_if_failed(flavour, measured)?;
    }
    Ok(())
}

/// A JetStream row that failed is skipped, and says why (the server may
/// run without JetStream, or be too old for the client); core NATS must
/// work once the server answers.
fn skip_if_failed(flavour: nats::Flavour, measured: anyhow::Result<()>) -> anyhow::Result<()> {
    match (flavour, measured) {
        (nats::Flavour::JetStream, Err(error)) => {
            nats::print_skipped("JetStream row", &format!("{error:#}"));
            Ok(())
        }
        (_, measured) => measured,
    }
}
