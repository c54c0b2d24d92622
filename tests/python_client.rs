//! The proto contract works from another language: a Python client generated
//! from `proto/` with `grpc_tools.protoc` drives a real server through
//! `tests/python/client_check.py` (import, get by key/id/URL, paged list,
//! StreamArticles, WatchArticles with catch-up and snapshot, error codes).
//!
//! Needs the Python tools that `scripts/test` installs into `.tools/venv`; it
//! finds them through `NEWSWIRE_PYTHON`, which `scripts/test` sets.

mod support;

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{Command, ExitStatus, Stdio},
    thread,
    time::{Duration, Instant},
};

use support::server::TestServer;

/// Generous: a cold Python start plus a handful of RPCs takes a few seconds,
/// but a hung server must still end the test.
const CHILD_DEADLINE: Duration = Duration::from_secs(180);

#[tokio::test]
async fn generated_python_client_imports_gets_lists_and_gets_error_codes() {
    let python = venv_python();
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"));
    let generated =
        tempfile::tempdir().expect("create a temporary folder for the generated client");

    let mut protoc = Command::new(&python);
    protoc
        .current_dir(repository)
        .args(["-m", "grpc_tools.protoc", "--proto_path", "proto"])
        .arg(format!("--python_out={}", generated.path().display()))
        .arg(format!("--grpc_python_out={}", generated.path().display()))
        .args(proto_files(repository));
    run_to_completion("generate the Python client with grpc_tools.protoc", protoc)
        .await
        .assert_success();

    let server = TestServer::start().await;
    let mut client_check = Command::new(&python);
    client_check
        .current_dir(repository)
        .arg("tests/python/client_check.py")
        .arg("--address")
        .arg(server.address().to_string())
        .arg("--generated")
        .arg(generated.path())
        .arg("--corpus")
        .arg(support::corpus::corpus_dir())
        // Keep the source tree free of __pycache__ folders.
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let finished = run_to_completion("tests/python/client_check.py", client_check).await;
    finished.assert_success();
    println!("{}", finished.stdout);
}

/// The venv's python from `NEWSWIRE_PYTHON`; a clear failure when the test
/// was not started through `scripts/test`.
fn venv_python() -> PathBuf {
    let Some(python) = std::env::var_os("NEWSWIRE_PYTHON") else {
        panic!(
            "NEWSWIRE_PYTHON is not set. Run the tests with `scripts/test` (for this test alone: \
             `scripts/test --test python_client`); it installs grpcio-tools into .tools/venv and \
             sets NEWSWIRE_PYTHON to the venv's python."
        );
    };
    let python = PathBuf::from(python);
    assert!(
        python.exists(),
        "NEWSWIRE_PYTHON={} does not exist; run `scripts/test` to (re)install .tools/venv",
        python.display()
    );
    python
}

/// Every `.proto` file of the contract, relative to `proto/`, sorted.
fn proto_files(repository: &Path) -> Vec<String> {
    let contract = repository.join("proto/newswire/v1");
    let mut files: Vec<String> = std::fs::read_dir(&contract)
        .unwrap_or_else(|error| panic!("read {}: {error}", contract.display()))
        .map(|entry| entry.expect("read a proto/ directory entry").file_name())
        .filter_map(|name| name.to_str().map(str::to_owned))
        .filter(|name| name.ends_with(".proto"))
        .map(|name| format!("newswire/v1/{name}"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no .proto files in {}",
        contract.display()
    );
    files
}

/// What a finished child process did.
struct Finished {
    description: String,
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
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

/// Runs `command` to its end (or kills it at `CHILD_DEADLINE`) on the
/// blocking pool, so the server's tasks keep running on the test runtime
/// meanwhile.
async fn run_to_completion(description: &str, command: Command) -> Finished {
    let description = description.to_owned();
    tokio::task::spawn_blocking(move || run_blocking(description, command))
        .await
        .expect("the child-process runner panicked")
}

fn run_blocking(description: String, mut command: Command) -> Finished {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("{description}: could not start {command:?}: {error}"));
    // Both pipes are drained while the child runs, so a chatty child never
    // blocks on a full pipe.
    let stdout = drain_in_background(child.stdout.take());
    let stderr = drain_in_background(child.stderr.take());
    let started = Instant::now();
    // std has no wait-with-timeout: poll the child, which is cheap next to
    // the seconds it runs.
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > CHILD_DEADLINE => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(error) => panic!("{description}: waiting for the child failed: {error}"),
        }
    };
    Finished {
        description,
        status,
        stdout: stdout.join().expect("stdout reader panicked"),
        stderr: stderr.join().expect("stderr reader panicked"),
    }
}

fn drain_in_background(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}
