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
//! peak memory for 10,000 against 100,000 matching articles.
//! Servers run pinned to core 0 with one
//! Tokio worker, the watchers here on core 1; medians of several rounds,
//! the contenders alternating. See `docs/performance.md`, "Streams".
//!
//! The binary also plays the pinned children: `serve-newswire ADDRESS DIR`
//! and `serve-bare ADDRESS`. Without `--bench` (as `cargo test
//! --all-targets` runs it) it does one small round and checks the harness.

#[path = "../support/child.rs"]
#[allow(dead_code)]
mod child;
#[path = "../support/corpus.rs"]
#[allow(dead_code)]
mod corpus;
mod fanout;
mod latency;
#[path = "../support/machine.rs"]
#[allow(dead_code)]
mod machine;
#[path = "../support/process.rs"]
#[allow(dead_code)]
mod process;
#[path = "../support/report.rs"]
#[allow(dead_code)]
mod report;
mod servers;
#[path = "../support/settings.rs"]
mod settings;
mod stream_articles;

use std::process::ExitCode;

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
}

impl Plan {
    fn full() -> Self {
        Self {
            rounds: 5,
            shapes: vec![(100, 4), (1000, 10)],
            latency: (100, 4),
            stream_counts: vec![10_000, 100_000],
            prioritise: true,
        }
    }

    fn smoke() -> Self {
        Self {
            rounds: 1,
            shapes: vec![(10, 2)],
            latency: (2, 1),
            stream_counts: vec![200, 400],
            prioritise: false,
        }
    }
}

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let result = match arguments.first().map(String::as_str) {
        Some("serve-newswire") => servers::newswire(&arguments[1..]).map(|()| true),
        Some("serve-bare") => servers::bare(&arguments[1..]).map(|()| true),
        _ if arguments.iter().any(|argument| argument == "--bench") => benchmark(Plan::full()),
        _ => benchmark(Plan::smoke()),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("streams benchmark: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn benchmark(plan: Plan) -> anyhow::Result<bool> {
    let machine = Machine::describe();
    let scheduling = if plan.prioritise {
        process::prioritise_this_process()
    } else {
        process::scheduling(std::process::id())
    };
    process::pin_this_process(CLIENT_CORE)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        println!(
            "newswire streams benchmark, {}",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
        );
        println!(
            "machine: {} cores, {}, {} memory; load average {}",
            machine.cores,
            machine.model,
            machine.memory,
            load_average()
        );
        println!(
            "servers pinned to core {SERVER_CORE} (TOKIO_WORKER_THREADS=1); watchers pinned to core {} (asked: {CLIENT_CORE}); scheduling: {scheduling}; {} rounds",
            process::allowed_cores(),
            plan.rounds,
        );
        let documents = corpus::documents()?;
        let mut clean = true;
        for &(watchers, connections) in &plan.shapes {
            let result = fanout::measure(plan.rounds, watchers, connections, &documents).await?;
            clean &= result.print();
        }
        let (watchers, connections) = plan.latency;
        latency::measure(plan.rounds, watchers, connections, &documents)
            .await?
            .print();
        stream_articles::measure(plan.rounds.min(3), &plan.stream_counts, &documents)
            .await?
            .print();
        println!("load average at the end: {}", load_average());
        Ok(clean)
    })
}
