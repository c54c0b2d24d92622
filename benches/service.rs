//! The service benchmark: `cargo bench --bench service`.
//!
//! It reports ratios measured in the same run, never absolute thresholds:
//!
//! 1. GetArticle throughput of newswire (SQLite store, the whole corpus
//!    imported through ImportArticles) against a bare tonic server that
//!    answers with one fixed response of the average real size. The
//!    servers run pinned to core 0 with one Tokio worker; the load
//!    generator here runs pinned to core 1.
//! 2. Import rate of the corpus and the history through ImportArticles into
//!    a fresh database, against the same rows written with rusqlite
//!    directly in one transaction.
//!
//! A diagnostic row beside them (the rusqlite rows grouped as the store
//! groups them) says where a gap comes from. Each
//! figure is the median of five rounds (nine for the imports), the contenders rotating order each
//! round, all under `SCHED_FIFO` when allowed (see `support::process`). See
//! `docs/performance.md` for the method, the results and the findings.
//!
//! The binary also plays the pinned children: `serve-newswire ADDRESS DIR`,
//! `serve-bare ADDRESS RESPONSE_FILE` and
//! `raw-insert DIR corpus|history GROUPING`. Without `--bench` (as
//! `cargo test --all-targets` runs it) it does one short smoke round of
//! everything but the history and checks that nothing failed.

mod support;

use std::process::ExitCode;
use std::time::Duration;

use support::harness::{self, Run};
use support::load::LoadShape;
use support::machine::{Machine, load_average};
use support::process::{self, CLIENT_CORE, SERVER_CORE};
use support::report::progress;
use support::{corpus, get_article, import_comparison, serve, sqlite_server};

/// What to run: the full benchmark, or the smoke round.
#[derive(Debug, Clone, Copy)]
struct Plan {
    rounds: usize,
    /// Rounds of each import: an import of the corpus takes a twentieth of
    /// a second, so more of them steady its median.
    import_rounds: usize,
    shape: LoadShape,
    history: bool,
    /// Whether to ask for real-time scheduling (see `process`).
    prioritise: bool,
    get_article: bool,
    imports: bool,
}

impl Plan {
    /// Five rounds of 3.5 s per server, plus the imports: about 70 s.
    fn full() -> Self {
        Self {
            rounds: 5,
            import_rounds: 9,
            shape: LoadShape {
                concurrency: 50,
                connections: 4,
                warm_up: Duration::from_millis(500),
                duration: Duration::from_secs(3),
                max_calls_per_task: 1_000_000,
            },
            history: true,
            prioritise: true,
            get_article: true,
            imports: true,
        }
    }

    /// Narrows the plan to the part a filter argument names (`get` or
    /// `import`, as in `cargo bench --bench service -- import`).
    fn only(mut self, arguments: &[String]) -> anyhow::Result<Self> {
        match arguments
            .iter()
            .find(|argument| !argument.starts_with('-'))
            .map(String::as_str)
        {
            None => {}
            Some("get") => self.imports = false,
            Some("import") => self.get_article = false,
            Some(other) => anyhow::bail!("unknown part {other:?}: choose get or import"),
        }
        Ok(self)
    }

    /// One short round of everything but the history: checks the harness.
    fn smoke() -> Self {
        Self {
            rounds: 1,
            import_rounds: 1,
            shape: LoadShape {
                concurrency: 50,
                connections: 4,
                warm_up: Duration::from_millis(100),
                duration: Duration::from_millis(300),
                max_calls_per_task: 1_000_000,
            },
            history: false,
            prioritise: false,
            get_article: true,
            imports: true,
        }
    }
}

fn main() -> ExitCode {
    harness::main(
        "service benchmark",
        &[
            ("serve-newswire", sqlite_server::serve),
            ("serve-bare", serve::bare),
            ("raw-insert", serve::raw_insert),
        ],
        |run, arguments| {
            let plan = match run {
                Run::Full => Plan::full().only(arguments)?,
                Run::Smoke => Plan::smoke(),
            };
            harness::on_the_client_core(plan.prioritise, |machine, scheduling| {
                measure(plan, machine, scheduling)
            })
        },
    )
}

/// Runs the plan; `Ok(false)` if any call failed.
async fn measure(plan: Plan, machine: Machine, scheduling: String) -> anyhow::Result<bool> {
    progress("reading the corpus");
    print_header(&plan, &machine, &scheduling);
    let documents = corpus::documents()?;
    let get_article = if plan.get_article {
        Some(get_article::measure(plan.rounds, plan.shape, &documents).await?)
    } else {
        None
    };
    let mut imports = Vec::new();
    if plan.imports {
        imports.push(import_comparison::measure(plan.import_rounds, "corpus", &documents).await?);
        if plan.history {
            let history = corpus::history()?;
            imports
                .push(import_comparison::measure(plan.import_rounds, "history", &history).await?);
        }
    }
    println!();
    let clean = get_article.is_none_or(|get_article| get_article.print(plan.shape));
    for import in &imports {
        import.print();
    }
    println!("load average at the end: {}", load_average());
    Ok(clean)
}

fn print_header(plan: &Plan, machine: &Machine, scheduling: &str) {
    harness::print_title("service benchmark", machine);
    let refused = if plan.prioritise && !scheduling.starts_with("SCHED_FIFO") {
        " (chrt --fifo was refused: the figures include other load's scheduling delays)"
    } else {
        ""
    };
    println!(
        "servers pinned to core {SERVER_CORE} (TOKIO_WORKER_THREADS=1); load generator pinned to core {} (asked: {CLIENT_CORE}); scheduling: {scheduling}{refused}",
        process::allowed_cores(),
    );
    println!(
        "{} rounds; GetArticle: {} calls in flight over {} connections, {:?} warm-up + {:?} measured per server per round",
        plan.rounds,
        plan.shape.concurrency,
        plan.shape.connections,
        plan.shape.warm_up,
        plan.shape.duration
    );
    println!();
}
