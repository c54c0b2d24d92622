//! A throwaway PostgreSQL cluster a test owns: `initdb` into a temporary
//! directory, a server on a free loopback port, started and stopped with
//! `pg_ctl`, so a test can take the database away and bring it back
//! without touching the shared test server.
//!
//! PostgreSQL refuses to run as root, so when the tests run as root every
//! PostgreSQL command runs as the `postgres` user (`runuser`), which owns
//! the data directory. Missing binaries fail the test with what to install:
//! these tests never skip.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};

/// Where the distribution installs PostgreSQL's server binaries.
const BINARY_ROOT: &str = "/usr/lib/postgresql";
/// The variable naming a `bin` directory to use instead.
pub const BINARY_DIRECTORY_VARIABLE: &str = "NEWSWIRE_TEST_POSTGRES_BIN";
/// How long `pg_ctl` waits for a start or stop.
const PG_CTL_TIMEOUT_SECONDS: &str = "60";

/// A PostgreSQL cluster in a temporary directory, stopped (immediately) and
/// removed when dropped.
pub struct ThrowawayCluster {
    binaries: PathBuf,
    /// Holds `data/`, the socket and `server.log`; removed on drop.
    directory: tempfile::TempDir,
    port: u16,
}

impl ThrowawayCluster {
    /// Initialises a cluster (trust authentication for `postgres`, fsync
    /// off: nothing here must outlive the test) and starts it.
    pub fn start() -> Self {
        let binaries = binary_directory();
        let directory = tempfile::tempdir().expect("a temporary directory");
        if running_as_root() {
            run_checked(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(directory.path()),
                "giving the cluster directory to the postgres user",
            );
        }
        let mut cluster = Self {
            binaries,
            directory,
            port: 0,
        };
        let output = cluster
            .postgres_command("initdb")
            .args(["--auth=trust", "--username=postgres", "--encoding=UTF8"])
            .args(["--no-sync", "--pgdata"])
            .arg(cluster.data_directory())
            .output()
            .expect("initdb runs");
        check(&output, "initdb");
        // A free port can be taken between choosing and binding it: retry
        // a few times with another.
        for attempt in 1..=3 {
            cluster.port = free_port();
            match cluster.try_start() {
                Ok(()) => return cluster,
                Err(failure) if attempt < 3 => eprintln!("starting the cluster: {failure}"),
                Err(failure) => panic!("the throwaway PostgreSQL cluster did not start: {failure}"),
            }
        }
        unreachable!("the loop returns or panics")
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`, with a short connect
    /// timeout so an outage shows promptly.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?connect_timeout=3",
            self.port
        )
    }

    /// Starts the stopped cluster again on the same port.
    pub fn restart(&self) {
        if let Err(failure) = self.try_start() {
            panic!("the throwaway PostgreSQL cluster did not start again: {failure}");
        }
    }

    /// Stops the cluster with `pg_ctl stop -m MODE` (`fast`: sessions are
    /// ended and their transactions rolled back; `immediate`: the server
    /// quits at once, like a crash) and waits until it is down.
    pub fn stop(&self, mode: &str) {
        let output = self
            .pg_ctl()
            .args(["stop", "--wait", "--mode", mode])
            .output()
            .expect("pg_ctl runs");
        check(&output, &format!("pg_ctl stop -m {mode}"));
    }

    fn try_start(&self) -> Result<(), String> {
        let options = format!(
            "-c port={} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} \
             -c fsync=off -c full_page_writes=off -c max_connections=100",
            self.port,
            self.directory.path().display()
        );
        let output = self
            .pg_ctl()
            .args(["start", "--wait", "--log"])
            .arg(self.directory.path().join("server.log"))
            .args(["-o", &options])
            .output()
            .expect("pg_ctl runs");
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "pg_ctl start: {}\n{}\nserver log:\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr),
                self.server_log()
            ))
        }
    }

    /// What the server logged so far, for failure messages.
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.directory.path().join("server.log")).unwrap_or_default()
    }

    fn data_directory(&self) -> PathBuf {
        self.directory.path().join("data")
    }

    fn pg_ctl(&self) -> Command {
        let mut command = self.postgres_command("pg_ctl");
        command
            .args(["--timeout", PG_CTL_TIMEOUT_SECONDS, "--pgdata"])
            .arg(self.data_directory());
        command
    }

    /// `binary` of the cluster's PostgreSQL, as the `postgres` user when we
    /// are root.
    fn postgres_command(&self, binary: &str) -> Command {
        let program = self.binaries.join(binary);
        if running_as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }
}

impl Drop for ThrowawayCluster {
    fn drop(&mut self) {
        let stopped = self
            .pg_ctl()
            .args(["stop", "--wait", "--mode", "immediate"])
            .output();
        // Stopping a cluster that is already down fails harmlessly.
        drop(stopped);
    }
}

/// The `bin` directory of the newest PostgreSQL installed, or the one
/// `NEWSWIRE_TEST_POSTGRES_BIN` names; a panic saying what to install.
pub fn binary_directory() -> PathBuf {
    if let Some(directory) = std::env::var_os(BINARY_DIRECTORY_VARIABLE) {
        let directory = PathBuf::from(directory);
        assert!(
            directory.join("pg_ctl").is_file() && directory.join("initdb").is_file(),
            "{BINARY_DIRECTORY_VARIABLE}={} holds no pg_ctl and initdb",
            directory.display()
        );
        return directory;
    }
    let mut candidates: Vec<(u32, PathBuf)> = std::fs::read_dir(BINARY_ROOT)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let binaries = entry.path().join("bin");
            (binaries.join("pg_ctl").is_file() && binaries.join("initdb").is_file())
                .then_some((version, binaries))
        })
        .collect();
    candidates.sort();
    match candidates.pop() {
        Some((_, binaries)) => binaries,
        None => panic!(
            "these tests run a PostgreSQL cluster of their own and need its server binaries \
             (initdb, pg_ctl), found in none of {BINARY_ROOT}/*/bin: install them \
             (`apt-get install postgresql`) or point {BINARY_DIRECTORY_VARIABLE} at a bin \
             directory holding them"
        ),
    }
}

fn running_as_root() -> bool {
    let output = Command::new("id").arg("-u").output().expect("id runs");
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("a local address").port()
}

fn run_checked(command: &mut Command, doing: &str) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{doing}: {error}"));
    check(&output, doing);
}

fn check(output: &Output, doing: &str) {
    assert!(
        output.status.success(),
        "{doing} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
