//! The `newswire` binary as a child process, for what only a real process
//! shows: signals, crashes, and the command line.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The path of the built `newswire` binary.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_newswire")
}

/// A `newswire serve` child process.
pub struct ServerProcess {
    pub child: Child,
    pub address: SocketAddr,
}

impl ServerProcess {
    /// Starts `newswire serve` on an ephemeral port over `data` with the
    /// development configuration and `--insecure-allow-anonymous`, and waits
    /// (up to 30 s) for it to log the address it listens on.
    pub fn start(data: &Path) -> Self {
        Self::start_with(data, &["--insecure-allow-anonymous"])
    }

    /// `start` with the development configuration and `arguments` only.
    pub fn start_with(data: &Path, arguments: &[&str]) -> Self {
        let development = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/development.toml");
        let mut child = Command::new(binary())
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(development)
            .args(arguments)
            .arg("--data")
            .arg(data)
            .env("NEWSWIRE_LOG", "info")
            .env_remove("NEWSWIRE_DATABASE_URL")
            .env_remove("NEWSWIRE_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let address = read_address(&mut child);
        Self { child, address }
    }

    /// `http://ADDRESS`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Sends `signal` (`TERM`, `KILL` …) with the `kill` command.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits up to `deadline` for the process to exit; its exit status.
    pub fn wait_for_exit(&mut self, deadline: Duration) -> std::process::ExitStatus {
        let start = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait works") {
                return status;
            }
            assert!(
                start.elapsed() < deadline,
                "the server did not exit within {deadline:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Waits (up to 30 s) for a starting `serve` child with piped stderr to log
/// the address it listens on; kills it if it does not.
pub fn read_address(child: &mut Child) -> SocketAddr {
    let stderr = child.stderr.take().expect("stderr is piped");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(address) = line.split("address=").nth(1) {
                let _ = sender.send(
                    address
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
        }
    });
    let address = receiver.recv_timeout(Duration::from_secs(30));
    let Ok(Ok(address)) = address.map(|address| address.parse()) else {
        // Never leave an orphan server behind a failed start.
        let _ = child.kill();
        let _ = child.wait();
        panic!("the server did not log a valid listening address within 30 s");
    };
    address
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
