//! The PostgreSQL benchmark: `cargo bench --bench postgres`.
//!
//! Ratios measured in the same run, each the median of several rounds:
//!
//! 1. GetArticle by id through newswire on PostgreSQL against raw
//!    tokio-postgres `SELECT`s by primary key of the same rows, pipelined,
//!    with as many in flight (`get_article`), with the CPU split between
//!    newswire, PostgreSQL's backends and the load generator.
//! 2. ImportArticles of synthetic documents against binary `COPY` of the
//!    same rows (`import`).
//! 3. ListArticles page 1,000 against page 1 of the same query at a
//!    million articles (`list`); `NEWSWIRE_BENCH_ARTICLES` sets the count.
//!
//! `-- get`, `-- import` or `-- list` runs that part alone.
//! `-- --plans` also writes `docs/postgres-plans.md` from the list's
//! database (`plans`). Every measurement uses a database of its own on the
//! server named by `NEWSWIRE_BENCH_DATABASE_URL` (else the tests'
//! `NEWSWIRE_TEST_DATABASE_URL`, else the local one), dropped afterwards.
//!
//! The newswire server runs as this binary re-executed
//! (`serve-newswire-postgres ADDRESS URL`), pinned to core 0 with one Tokio
//! worker; this process, the load generator, is pinned to core 1, both
//! under `SCHED_FIFO` when allowed (the service benchmark's harness,
//! `benches/support/`). Without `--bench` (as `cargo test --all-targets`
//! runs it) it does one short smoke round of everything on small data and
//! checks that nothing failed.

// The service benchmark's harness; not every piece of it is used here.
#[path = "../support/child.rs"]
mod child;
#[path = "../support/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "../support/load.rs"]
mod load;
#[allow(dead_code)]
#[path = "../support/machine.rs"]
mod machine;
#[allow(dead_code)]
#[path = "../support/process.rs"]
mod process;
#[allow(dead_code)]
#[path = "../support/report.rs"]
mod report;
#[allow(dead_code)]
#[path = "../support/rounds.rs"]
mod rounds;
#[path = "../support/settings.rs"]
mod settings;

mod database;
mod get_article;
mod import;
mod list;
mod plans;
mod rows;
mod serve;
mod synthetic;

use std::process::ExitCode;
use std::time::Duration;

use harness::Run;
use load::LoadShape;
use machine::{Machine, load_average};
use process::SERVER_CORE;
use report::progress;

/// Articles the list measurement loads unless `NEWSWIRE_BENCH_ARTICLES`
/// says otherwise.
const LIST_ARTICLES: u64 = 1_000_000;

/// What to run: the full benchmark, or the smoke round.
#[derive(Debug, Clone, Copy)]
struct Plan {
    rounds: usize,
    shape: LoadShape,
    /// Rows GetArticle fetches from.
    get_articles: u64,
    /// Documents each import round writes.
    import_articles: u64,
    /// Rows the list measurement loads.
    list_articles: u64,
    /// The deep page compared with page 1.
    list_page: usize,
    /// Calls to each page per round.
    list_repeats: usize,
    prioritise: bool,
    plans: bool,
    /// The parts to run: GetArticle, the import, the list.
    parts: Parts,
}

/// Which measurements a plan runs.
#[derive(Debug, Clone, Copy)]
struct Parts {
    get_article: bool,
    import: bool,
    list: bool,
}

impl Parts {
    const ALL: Self = Self {
        get_article: true,
        import: true,
        list: true,
    };

    /// All parts, or the one a filter argument names (`get`, `import` or
    /// `list`, as in `cargo bench --bench postgres -- import`).
    fn named(arguments: &[String]) -> anyhow::Result<Self> {
        let none = Self {
            get_article: false,
            import: false,
            list: false,
        };
        match arguments
            .iter()
            .find(|argument| !argument.starts_with('-'))
            .map(String::as_str)
        {
            None => Ok(Self::ALL),
            Some("get") => Ok(Self {
                get_article: true,
                ..none
            }),
            Some("import") => Ok(Self {
                import: true,
                ..none
            }),
            Some("list") => Ok(Self { list: true, ..none }),
            Some(other) => anyhow::bail!("unknown part {other:?}: choose get, import or list"),
        }
    }
}

impl Plan {
    fn full(plans: bool, parts: Parts) -> anyhow::Result<Self> {
        let list_articles = match std::env::var("NEWSWIRE_BENCH_ARTICLES") {
            Ok(text) => text.trim().replace('_', "").parse().map_err(|_| {
                anyhow::anyhow!("NEWSWIRE_BENCH_ARTICLES={text:?} is not a count of articles")
            })?,
            Err(_) => LIST_ARTICLES,
        };
        Ok(Self {
            rounds: 5,
            shape: LoadShape {
                concurrency: 50,
                connections: 4,
                warm_up: Duration::from_millis(500),
                duration: Duration::from_secs(3),
                max_calls_per_task: u64::MAX,
            },
            get_articles: 20_000,
            import_articles: 20_000,
            list_articles,
            // Page 1,000 of 50, or as deep as a smaller load allows (the
            // topic query matches about half the articles).
            list_page: usize::try_from(list_articles / 100)?.clamp(2, 1000),
            list_repeats: 15,
            prioritise: true,
            plans,
            parts,
        })
    }

    fn smoke() -> Self {
        Self {
            rounds: 1,
            shape: LoadShape {
                concurrency: 50,
                connections: 4,
                warm_up: Duration::from_millis(100),
                duration: Duration::from_millis(300),
                max_calls_per_task: u64::MAX,
            },
            get_articles: 500,
            import_articles: 300,
            list_articles: 1_100,
            list_page: 5,
            list_repeats: 3,
            prioritise: false,
            plans: false,
            parts: Parts::ALL,
        }
    }
}

fn main() -> ExitCode {
    harness::main(
        "PostgreSQL benchmark",
        &[("serve-newswire-postgres", serve::newswire)],
        |run, arguments| {
            let plan = match run {
                Run::Full => Plan::full(
                    arguments.iter().any(|argument| argument == "--plans"),
                    Parts::named(arguments)?,
                )?,
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
    harness::print_title("PostgreSQL benchmark", &machine);
    println!(
        "newswire pinned to core {SERVER_CORE} (TOKIO_WORKER_THREADS=1); load generator pinned to core {}; PostgreSQL unpinned; scheduling: {scheduling}",
        process::allowed_cores(),
    );
    println!(
        "{} rounds; GetArticle: {} calls in flight over {} connections, {:?} warm-up + {:?} measured per contender per round",
        plan.rounds,
        plan.shape.concurrency,
        plan.shape.connections,
        plan.shape.warm_up,
        plan.shape.duration
    );
    println!();

    let parts = plan.parts;
    let get_article = if parts.get_article {
        Some(get_article::measure(plan.rounds, plan.shape, plan.get_articles).await?)
    } else {
        None
    };
    let imports = if parts.import {
        Some(import::measure(plan.rounds, plan.import_articles).await?)
    } else {
        None
    };
    let lists = if parts.list || plan.plans {
        let loaded = list::loaded_database(plan.list_articles).await?;
        let lists = list::measure(&loaded, plan.rounds, plan.list_repeats, plan.list_page).await?;
        if plan.plans {
            plans::write(&loaded, plan.list_page).await?;
        }
        progress("dropping the list database");
        drop(loaded);
        Some(lists)
    } else {
        None
    };

    println!();
    let clean = get_article.is_none_or(|get_article| get_article.print(plan.shape));
    if let Some(imports) = imports {
        imports.print();
    }
    if let Some(lists) = lists {
        lists.print();
    }
    println!("load average at the end: {}", load_average());
    Ok(clean)
}
