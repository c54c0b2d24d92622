//! The skeleton of every benchmark binary. `main` plays a server child
//! when the first argument names one, else runs the full benchmark under
//! `--bench` (as `cargo bench` passes it) or one short smoke round (as
//! `cargo test --all-targets` runs it, to check the harness); the load
//! generator runs on its own core; every report opens with the same lines.

use std::process::ExitCode;

use super::machine::{Machine, load_average};
use super::process::{self, CLIENT_CORE};

/// The run the command line asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// `--bench`: every round, for the figures.
    Full,
    /// Anything else: one short round on small data.
    Smoke,
}

/// A server child the binary plays: the first argument that names it, and
/// what it runs with the arguments after that one.
pub type Child = (&'static str, fn(&[String]) -> anyhow::Result<()>);

/// The whole of a benchmark's `main`. `benchmark(run, arguments)` returns
/// `Ok(false)` if a call failed; the process fails then, and on an error,
/// which it prints after `name` (`"streams benchmark"`).
pub fn main(
    name: &str,
    children: &[Child],
    benchmark: impl FnOnce(Run, &[String]) -> anyhow::Result<bool>,
) -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let child = arguments
        .first()
        .and_then(|first| children.iter().find(|(command, _)| command == first));
    let result = match child {
        Some((_, serve)) => serve(&arguments[1..]).map(|()| true),
        None if arguments.iter().any(|argument| argument == "--bench") => {
            benchmark(Run::Full, &arguments)
        }
        None => {
            super::report::mark_smoke_round();
            benchmark(Run::Smoke, &arguments)
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("{name}: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `measure` as the load generator: on a single-threaded runtime
/// pinned to `CLIENT_CORE`, under real-time scheduling if `prioritise` asks
/// for it and the system allows it. `measure` gets the machine, described
/// before pinning narrows what this process sees, and the scheduling policy
/// in effect.
pub fn on_the_client_core<Measurement>(
    prioritise: bool,
    measure: impl FnOnce(Machine, String) -> Measurement,
) -> anyhow::Result<bool>
where
    Measurement: Future<Output = anyhow::Result<bool>>,
{
    let machine = Machine::describe();
    // Before the runtime starts a thread: they all inherit the mask and
    // the scheduling policy.
    let scheduling = if prioritise {
        process::prioritise_this_process()
    } else {
        process::scheduling(std::process::id())
    };
    process::pin_this_process(CLIENT_CORE)?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(measure(machine, scheduling))
}

/// The report's first two lines: which benchmark (`name`), when, and on
/// what machine, how busy.
pub fn print_title(name: &str, machine: &Machine) {
    println!(
        "newswire {name}, {}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    println!(
        "machine: {} cores, {}, {} memory; load average {}",
        machine.cores,
        machine.model,
        machine.memory,
        load_average()
    );
}
