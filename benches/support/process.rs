//! Child processes pinned to one core, and CPU accounting from `/proc`.
//!
//! Every server (and the raw SQLite baseline) runs as this same benchmark
//! binary re-executed under `taskset -c 0` with `TOKIO_WORKER_THREADS=1`, so
//! each gets exactly one core and nothing else of ours runs there: the load
//! generator is pinned to the other core. A child prints one line on stdout
//! (its bound address, or its result) and lives until its stdin closes. The
//! children inherit this process's scheduling policy (see
//! `REALTIME_PRIORITY`).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The core the servers under test run on.
pub const SERVER_CORE: usize = 0;
/// The core the load generator (this process) runs on.
pub const CLIENT_CORE: usize = 1;
/// The real-time (SCHED_FIFO) priority the benchmark asks for, if allowed
/// (as root). On a shared machine, other work otherwise delays each wake-up
/// of a server or of the load generator, and every call wakes both: with
/// compilers running beside it, the bare server did 8k to 20k calls/s at
/// 20-40% of its core, and nice -10 changed nothing. Children inherit the
/// policy; the kernel's RT throttling still leaves other work 5% of each
/// core, and the run is about two minutes.
pub const REALTIME_PRIORITY: u32 = 5;
/// How long a child may take to print its line: starting a server is
/// milliseconds; parsing the history for the raw baseline is seconds.
const FIRST_LINE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a child may take to exit once its stdin closes.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// A child running this binary with `arguments`, pinned to `SERVER_CORE`.
pub struct PinnedChild {
    child: Child,
    /// Closing it tells the child to stop.
    stdin: Option<ChildStdin>,
    /// The first line the child printed.
    first_line: String,
}

impl PinnedChild {
    /// Starts the child and waits for its first line of output.
    pub fn start(arguments: &[&str]) -> anyhow::Result<Self> {
        let executable = std::env::current_exe().context("finding this benchmark binary")?;
        let mut child = Command::new("taskset")
            .arg("--cpu-list")
            .arg(SERVER_CORE.to_string())
            .arg(&executable)
            .args(arguments)
            .env("TOKIO_WORKER_THREADS", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("running taskset (util-linux) to pin a child")?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("the child's stdout")?;
        // Read the line on a helper thread so a silent child cannot hang us.
        let (line_sender, line_receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let result = BufReader::new(stdout).read_line(&mut line).map(|_| line);
            let _ = line_sender.send(result);
        });
        let mut pinned = Self {
            child,
            stdin,
            first_line: String::new(),
        };
        match line_receiver.recv_timeout(FIRST_LINE_TIMEOUT) {
            Ok(Ok(line)) if !line.trim().is_empty() => pinned.first_line = line.trim().to_string(),
            Ok(Ok(_)) => bail!("child {arguments:?} exited without output"),
            Ok(Err(error)) => bail!("reading child {arguments:?}: {error}"),
            Err(_) => bail!("child {arguments:?} printed nothing within {FIRST_LINE_TIMEOUT:?}"),
        }
        Ok(pinned)
    }

    /// The first line the child printed.
    pub fn first_line(&self) -> &str {
        &self.first_line
    }

    /// The first line, read as the address a server child bound.
    pub fn address(&self) -> anyhow::Result<SocketAddr> {
        self.first_line
            .parse()
            .with_context(|| format!("child printed {:?}, not an address", self.first_line))
    }

    /// The child's process id: `taskset` runs it in its own process.
    #[allow(
        dead_code,
        reason = "the streams benchmark reads its children's memory; the service benchmark does not"
    )]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child's scheduling policy and priority.
    pub fn scheduling(&self) -> String {
        scheduling(self.child.id())
    }

    /// CPU time the child has used so far, all threads, user and system.
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        process_cpu_time(self.child.id())
    }

    /// Closes the child's stdin and waits for it to exit; kills it (by its
    /// own handle) if it does not. Async, so this runtime keeps driving our
    /// client connections meanwhile: a server's graceful shutdown waits for
    /// them to close.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        drop(self.stdin.take());
        let started = Instant::now();
        while started.elapsed() < EXIT_TIMEOUT {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!("child exited with {status}");
                }
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.child.kill()?;
        self.child.wait()?;
        bail!("child did not exit within {EXIT_TIMEOUT:?} and was killed")
    }
}

impl Drop for PinnedChild {
    /// Only reached when a round fails half-way: kill the child (by its own
    /// handle) rather than block here.
    fn drop(&mut self) {
        if self.stdin.take().is_some() && matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Pins this process to `core`. Call it before any thread starts: threads
/// inherit the mask of the thread that creates them, and `taskset --pid`
/// changes only the thread it names (here, the main one).
pub fn pin_this_process(core: usize) -> anyhow::Result<()> {
    let status = Command::new("taskset")
        .arg("--cpu-list")
        .arg("--pid")
        .arg(core.to_string())
        .arg(std::process::id().to_string())
        .stdout(Stdio::null())
        .status()
        .context("running taskset (util-linux)")?;
    if !status.success() {
        bail!("taskset could not pin this process to core {core}: {status}");
    }
    Ok(())
}

/// Asks for SCHED_FIFO at `REALTIME_PRIORITY` for this process, best
/// effort; call it before any thread starts, as threads inherit it.
/// Returns the policy in effect, as the report names it.
pub fn prioritise_this_process() -> String {
    let _ = Command::new("chrt")
        .arg("--fifo")
        .arg("--pid")
        .arg(REALTIME_PRIORITY.to_string())
        .arg(std::process::id().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    scheduling(std::process::id())
}

/// A process's scheduling policy and real-time priority (fields 41 and 40
/// of `/proc/PID/stat`).
pub fn scheduling(pid: u32) -> String {
    let policy = stat_field(pid, 41).unwrap_or_default();
    let priority = stat_field(pid, 40).unwrap_or_default();
    match policy.as_str() {
        "0" => "SCHED_OTHER".to_string(),
        "1" => format!("SCHED_FIFO {priority}"),
        other => format!("policy {other}, priority {priority}"),
    }
}

/// The cores this process may run on, as the kernel lists them.
pub fn allowed_cores() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
                .map(|list| list.trim().to_string())
        })
        .unwrap_or_else(|| "?".to_string())
}

/// CPU time used by this process so far.
pub fn own_cpu_time() -> anyhow::Result<Duration> {
    process_cpu_time(std::process::id())
}

/// utime + stime of a process, from `/proc/PID/stat` (fields 14 and 15,
/// in clock ticks).
pub fn process_cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let ticks = stat_field(pid, 14)?.parse::<u64>()? + stat_field(pid, 15)?.parse::<u64>()?;
    Ok(Duration::from_secs_f64(
        ticks as f64 / clock_ticks_per_second() as f64,
    ))
}

/// Field `number` (1-based, as `man 5 proc` counts) of `/proc/PID/stat`.
fn stat_field(pid: u32, number: usize) -> anyhow::Result<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces; the fields after it not.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("a /proc stat line")?;
    after_name
        .split_whitespace()
        .nth(number - 3)
        .map(str::to_string)
        .with_context(|| format!("a /proc/{pid}/stat line without field {number}"))
}

/// `getconf CLK_TCK`, 100 on every Linux we know of if getconf is missing.
fn clock_ticks_per_second() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|output| String::from_utf8(output.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(100)
    })
}
