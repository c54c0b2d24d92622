//! The README's own sequence works as written: the `import` and `export`
//! commands of "Run it" (the corpus, then the history), then the `watch`
//! example of the change feed, whose shown output must be what the binary
//! prints: the same event types at the same revisions, up to its PROGRESS
//! line. `cargo run --release --` becomes the test's binary, `--server` the
//! test server, `../shared/corpus` the corpus the tests use and
//! `./exported` a temporary folder.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::corpus::corpus_dir;
use support::process::binary;
use support::server::{DEVELOPMENT_TOKEN, TestServer};

/// How the README runs the binary.
const README_BINARY: &str = "cargo run --release -- ";
/// Importing the corpus and the history in a debug build takes about a
/// minute on a busy machine; the watch answers in seconds.
const DEADLINE: Duration = Duration::from_secs(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_imports_exports_and_watches_as_shown() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let server = TestServer::start_development().await;
    let exported = tempfile::tempdir().expect("a temporary folder");
    let corpus = corpus_dir();
    let substitute = |command: &str| {
        command
            .replace("../shared/corpus", &corpus.display().to_string())
            .replace("./exported", &exported.path().display().to_string())
    };

    let loads = load_commands(&readme);
    assert_eq!(
        loads.len(),
        3,
        "README \"Run it\": expected the corpus import, the history import and the export: {loads:?}"
    );
    for command in &loads {
        let arguments = words(&substitute(command));
        let output = newswire(&arguments, &server.url())
            .output()
            .expect("the binary runs");
        assert!(
            output.status.success(),
            "README command failed: {command}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let exported_files = std::fs::read_dir(exported.path())
        .expect("the export folder")
        .count();
    assert!(
        exported_files > 700,
        "export wrote {exported_files} documents"
    );

    let (command, shown) = watch_example(&readme);
    let mut watch = newswire(&words(&command), &server.url())
        .stdout(Stdio::piped())
        .spawn()
        .expect("newswire watch starts");
    let stdout = watch.stdout.take().expect("stdout");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut printed = Vec::new();
    while printed.len() < shown.len() {
        let left = DEADLINE.saturating_sub(started.elapsed());
        match received.recv_timeout(left) {
            Ok(line) => printed.push(event_of(&line).unwrap_or_else(|| {
                panic!("`newswire watch` printed a line that is not an event: {line}")
            })),
            Err(_) => break,
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    assert_eq!(
        printed, shown,
        "README's watch example `{command}`: the output shown (type, revision) differs from what it prints"
    );
}

/// The README's `cargo run --release -- import ../shared/corpus…` and
/// `… export …` lines, in order.
fn load_commands(readme: &str) -> Vec<String> {
    readme
        .lines()
        .filter_map(|line| line.trim().strip_prefix(README_BINARY))
        .map(|command| {
            command
                .split('#')
                .next()
                .unwrap_or(command)
                .trim()
                .to_string()
        })
        .filter(|command| {
            command.starts_with("import ../shared/corpus") || command.starts_with("export ")
        })
        .collect()
}

/// The `$ cargo run --release -- watch …` example and the events it shows.
fn watch_example(readme: &str) -> (String, Vec<(String, i64)>) {
    let mut lines = readme
        .lines()
        .skip_while(|line| !line.trim().starts_with(&format!("$ {README_BINARY}watch ")));
    let command = lines
        .next()
        .and_then(|line| line.trim().strip_prefix(&format!("$ {README_BINARY}")))
        .expect("README has a `$ cargo run --release -- watch …` example")
        .to_string();
    let shown = lines
        .take_while(|line| !line.starts_with("```"))
        .map(|line| event_of(line).unwrap_or_else(|| panic!("README watch output: {line}")))
        .collect();
    (command, shown)
}

/// The type and revision of one printed event (the README abbreviates the
/// rest with `…`, so the line is not parsed as JSON).
fn event_of(line: &str) -> Option<(String, i64)> {
    let type_start = line.find("\"type\":\"")? + "\"type\":\"".len();
    let type_end = type_start + line[type_start..].find('"')?;
    let revision_start = line.find("\"revision\":")? + "\"revision\":".len();
    let digits: String = line[revision_start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((line[type_start..type_end].to_string(), digits.parse().ok()?))
}

/// Shell words, with double quotes grouping (all the README's commands use).
fn words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for character in command.chars() {
        match character {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            other => current.push(other),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// The binary with `arguments`, pointed at `server` with the development
/// token, as the README's `export NEWSWIRE_TOKEN=…` sets it.
fn newswire(arguments: &[String], server: &str) -> Command {
    let mut command = Command::new(binary());
    command
        .args(arguments)
        .env("NEWSWIRE_TOKEN", DEVELOPMENT_TOKEN)
        .env("NEWSWIRE_SERVER", server)
        .stdin(Stdio::null());
    command
}
