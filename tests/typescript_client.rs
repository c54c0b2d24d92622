//! The proto contract works from TypeScript: `clients/typescript` generates a
//! client from `proto/` with `buf generate` (protoc-gen-es, a local plugin)
//! and compiles its check program with `tsc`; the program drives a real
//! server with the development token (`clients/typescript/src/check/
//! client_check.ts`: import, get by key and URL, paged list, stream, error
//! details, watch), and this test makes, with the Rust client, the change
//! the program's watch waits for.
//!
//! Needs what `scripts/test` installs: Node.js 20+ (`NEWSWIRE_NODE`, else
//! `node` on PATH), the npm packages in `clients/typescript/node_modules`,
//! and buf (`NEWSWIRE_BUF`). The client is generated and compiled again on
//! every run, so a changed `proto/` is never tested through a stale client.

mod support;

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::Duration;

use newswire::proto::{Article, CreateArticleRequest};
use support::server::{DEVELOPMENT_TOKEN, TestServer};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout_at};

/// Generous for a cold Node start, `tsc` and a few dozen RPCs on a busy
/// machine; a hung server or child still ends the test.
const CHILD_DEADLINE: Duration = Duration::from_secs(180);
/// The line the check program prints when its watch has the snapshot and
/// waits for a change.
const WAITING_FOR_CHANGE: &str = "WAITING_FOR_CHANGE";
/// The article this test creates for the program's watch to see.
const WATCHED_KEY: &str = "created-by-the-rust-client";

#[tokio::test]
async fn generated_typescript_client_imports_reads_pages_streams_and_watches() {
    let tools = TypeScriptTools::from_environment();
    tools.generate_client().await;
    tools.compile().await;

    let server = TestServer::start_development().await;
    let mut check = RunningChild::spawn("the TypeScript client check", tools.client_check(&server));
    let deadline = Instant::now() + CHILD_DEADLINE;
    let mut made_the_change = false;
    while let Some(line) = check.next_line(deadline).await {
        if line.starts_with(WAITING_FOR_CHANGE) {
            assert!(
                !made_the_change,
                "the check program asked twice for a change"
            );
            create_watched_article(&server).await;
            made_the_change = true;
        }
    }
    let finished = check.wait(deadline).await;
    finished.assert_success();
    assert!(
        made_the_change,
        "the check program passed without asking for the change its watch waits for:\n{}",
        finished.stdout
    );
    println!("{}", finished.stdout);
}

/// The change the TypeScript watch waits for, made by another client.
async fn create_watched_article(server: &TestServer) {
    let mut request = tonic::Request::new(CreateArticleRequest {
        article: Some(Article {
            key: WATCHED_KEY.to_string(),
            title: "Created by the Rust client while TypeScript watches".to_string(),
            published_date_time: Some(prost_types::Timestamp {
                seconds: 1_764_000_000,
                nanos: 0,
            }),
            ..Article::default()
        }),
    });
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {DEVELOPMENT_TOKEN}")
            .parse()
            .expect("a valid header"),
    );
    server
        .client()
        .await
        .create_article(request)
        .await
        .expect("the Rust client creates the watched article");
}

/// Node.js, buf and the installed npm packages of `clients/typescript`.
struct TypeScriptTools {
    node: PathBuf,
    buf: PathBuf,
    client_directory: PathBuf,
}

impl TypeScriptTools {
    /// The tools `scripts/test` installs and names; a failure that says
    /// how to get them when they are missing (this test never skips).
    fn from_environment() -> Self {
        let client_directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/typescript");
        let node = std::env::var_os("NEWSWIRE_NODE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("node"));
        let node_runs = Command::new(&node)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        assert!(
            node_runs,
            "Node.js ({}) does not run. Install Node.js 20+ and npm (`apt-get install nodejs npm`), \
             then run the tests with `scripts/test` (this test alone: `scripts/test --test \
             typescript_client`), which installs the client's npm packages and sets NEWSWIRE_NODE.",
            node.display()
        );
        for installed in [
            "node_modules/.bin/protoc-gen-es",
            "node_modules/typescript/bin/tsc",
        ] {
            assert!(
                client_directory.join(installed).exists(),
                "clients/typescript/{installed} is missing: run `scripts/test --tools-only` \
                 (it runs `npm ci` in clients/typescript)"
            );
        }
        let Some(buf) = std::env::var_os("NEWSWIRE_BUF").map(PathBuf::from) else {
            panic!(
                "NEWSWIRE_BUF is not set. Run the tests with `scripts/test` (this test alone: \
                 `scripts/test --test typescript_client`); it installs buf into .tools/venv and \
                 sets NEWSWIRE_BUF."
            );
        };
        assert!(
            buf.exists(),
            "NEWSWIRE_BUF={} does not exist; run `scripts/test --tools-only` to (re)install it",
            buf.display()
        );
        Self {
            node,
            buf,
            client_directory,
        }
    }

    /// `buf generate` with `clients/typescript/buf.gen.yaml` into `src/gen/`.
    async fn generate_client(&self) {
        let mut generate = Command::new(&self.buf);
        generate
            .current_dir(&self.client_directory)
            .arg("generate")
            // protoc-gen-es is a Node script (`#!/usr/bin/env node`): buf
            // runs it with the same Node as everything else here.
            .env("PATH", self.path_with_node_first());
        RunningChild::spawn("buf generate in clients/typescript", generate)
            .run_to_end()
            .await
            .assert_success();
    }

    /// `tsc`: the client, the generated code and the check program into `build/`.
    async fn compile(&self) {
        let mut compile = Command::new(&self.node);
        compile.current_dir(&self.client_directory).args([
            "node_modules/typescript/bin/tsc",
            "--project",
            "tsconfig.json",
        ]);
        RunningChild::spawn("tsc in clients/typescript", compile)
            .run_to_end()
            .await
            .assert_success();
    }

    /// The compiled check program, pointed at `server`.
    fn client_check(&self, server: &TestServer) -> Command {
        let mut check = Command::new(&self.node);
        check
            .current_dir(&self.client_directory)
            .arg("build/check/client_check.js")
            .arg("--address")
            .arg(server.address().to_string())
            .args(["--token", DEVELOPMENT_TOKEN, "--watch-key", WATCHED_KEY])
            .arg("--corpus")
            .arg(support::corpus::corpus_dir());
        check
    }

    /// PATH with the folder of `node` first, when `node` is a path.
    fn path_with_node_first(&self) -> OsString {
        let mut folders: Vec<PathBuf> = self
            .node
            .parent()
            .filter(|folder| !folder.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .into_iter()
            .collect();
        if let Some(path) = std::env::var_os("PATH") {
            folders.extend(std::env::split_paths(&path));
        }
        std::env::join_paths(folders).expect("PATH folders join")
    }
}

/// A child process whose stdout is read line by line as it comes (the check
/// program asks for the change on stdout) and whose stderr is kept for the
/// failure message. Dropping it kills the child: a failed test leaves no
/// Node process behind.
struct RunningChild {
    description: String,
    /// `None` once waited for.
    child: Option<Child>,
    lines: mpsc::UnboundedReceiver<String>,
    stdout: String,
    stderr: Option<thread::JoinHandle<String>>,
}

/// What a finished child process did.
struct Finished {
    description: String,
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
}

impl RunningChild {
    fn spawn(description: &str, mut command: Command) -> Self {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("{description}: could not start {command:?}: {error}"));
        let (sender, lines) = mpsc::unbounded_channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let stderr = thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stderr.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        });
        Self {
            description: description.to_string(),
            child: Some(child),
            lines,
            stdout: String::new(),
            stderr: Some(stderr),
        }
    }

    /// The next line of stdout; `None` once stdout is closed or at the
    /// deadline (then `wait` reports the child as killed).
    async fn next_line(&mut self, deadline: Instant) -> Option<String> {
        let line = timeout_at(deadline, self.lines.recv()).await.ok()??;
        self.stdout.push_str(&line);
        self.stdout.push('\n');
        Some(line)
    }

    /// Reads stdout to its end, then waits for the child.
    async fn run_to_end(mut self) -> Finished {
        let deadline = Instant::now() + CHILD_DEADLINE;
        while self.next_line(deadline).await.is_some() {}
        self.wait(deadline).await
    }

    /// Waits for the child to exit, or kills it at `deadline`. Polls on the
    /// blocking pool, so the server's tasks keep running meanwhile.
    async fn wait(mut self, deadline: Instant) -> Finished {
        let mut child = self.child.take().expect("a child is waited for once");
        let stderr = self.stderr.take().expect("stderr is read once");
        let deadline = deadline.into_std();
        let (status, stderr) = tokio::task::spawn_blocking(move || {
            let status = loop {
                match child.try_wait() {
                    Ok(Some(status)) => break Some(status),
                    Ok(None) if std::time::Instant::now() > deadline => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break None;
                    }
                    // std has no wait-with-timeout; polling is cheap next to
                    // the seconds the child runs.
                    Ok(None) => thread::sleep(Duration::from_millis(20)),
                    Err(error) => panic!("waiting for a child failed: {error}"),
                }
            };
            (status, stderr.join().expect("the stderr reader panicked"))
        })
        .await
        .expect("the child waiter panicked");
        while let Ok(line) = self.lines.try_recv() {
            self.stdout.push_str(&line);
            self.stdout.push('\n');
        }
        Finished {
            description: std::mem::take(&mut self.description),
            status,
            stdout: std::mem::take(&mut self.stdout),
            stderr,
        }
    }
}

impl Drop for RunningChild {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Finished {
    fn assert_success(&self) {
        let outcome = match self.status {
            Some(status) if status.success() => return,
            Some(status) => format!("failed ({status})"),
            None => format!("was killed after {CHILD_DEADLINE:?}"),
        };
        panic!(
            "{} {outcome}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.description, self.stdout, self.stderr
        );
    }
}
