//! The `newswire` binary end to end: import, export, history replay,
//! crash durability and graceful shutdown, against a real server process.

mod support;

use std::collections::HashMap;
use std::io::BufRead;
use std::process::Command;
use std::time::Duration;

use newswire::proto::article_service_client::ArticleServiceClient;
use newswire::proto::{
    Article, CreateArticleRequest, GetArticleRequest, get_article_request::Lookup,
};
use support::corpus;
use support::process::{ServerProcess, binary};

/// The front matter of a document as a YAML value, and its body.
fn split(text: &str) -> (serde_norway::Value, String) {
    let rest = text.strip_prefix("---\n").expect("an opening delimiter");
    let end = rest.find("\n---\n").expect("a closing delimiter");
    let value = serde_norway::from_str(&rest[..end]).expect("front matter parses");
    (value, rest[end + "\n---\n".len()..].to_string())
}

/// Runs the binary presenting the development token (the client commands
/// read `NEWSWIRE_TOKEN`).
fn run(arguments: &[&str]) -> std::process::Output {
    Command::new(binary())
        .args(arguments)
        .env("NEWSWIRE_TOKEN", support::server::DEVELOPMENT_TOKEN)
        .output()
        .expect("the binary runs")
}

fn stem(source: &str) -> String {
    let name = source.rsplit('/').next().unwrap_or(source);
    name.rsplit_once('.')
        .map_or(name, |(stem, _)| stem)
        .to_string()
}

#[test]
fn import_then_export_gives_every_document_back() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let server = ServerProcess::start(data.path());
    let folders: Vec<String> = corpus::FOLDERS
        .iter()
        .map(|folder| corpus::corpus_dir().join(folder).display().to_string())
        .collect();
    let url = server.url();
    let mut arguments = vec!["import", "--quiet", "--server", &url];
    arguments.extend(folders.iter().map(String::as_str));
    let output = run(&arguments);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "import failed: {stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("created {}", corpus::DOCUMENT_COUNT)),
        "{stdout}"
    );

    let exported = tempfile::tempdir().expect("a temporary directory");
    let output = run(&[
        "export",
        "--server",
        &url,
        &exported.path().display().to_string(),
    ]);
    assert!(
        output.status.success(),
        "export failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        std::fs::read_dir(exported.path())
            .expect("listable")
            .count(),
        corpus::DOCUMENT_COUNT
    );
    for document in corpus::documents() {
        let path = exported
            .path()
            .join(format!("{}.md", stem(&document.source)));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{} was exported", path.display()));
        let (original, original_body) = split(&document.text);
        let (exported, exported_body) = split(&text);
        assert_eq!(
            exported, original,
            "{}: the front matter comes back as the same YAML value",
            document.source
        );
        assert_eq!(
            exported_body, original_body,
            "{}: the body comes back byte for byte",
            document.source
        );
    }
}

#[test]
fn import_fails_when_an_item_fails_and_says_which() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let server = ServerProcess::start(data.path());
    let inputs = tempfile::tempdir().expect("a temporary directory");
    let good = &corpus::documents()[0];
    std::fs::write(inputs.path().join(&good.source), &good.text).expect("write");
    std::fs::write(
        inputs.path().join("broken.md"),
        "---\ntitle: [unclosed\n---\n",
    )
    .expect("write");
    let output = run(&[
        "import",
        "--quiet",
        "--server",
        &server.url(),
        &inputs.path().display().to_string(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !output.status.success(),
        "a failed item makes the command fail"
    );
    assert!(
        stdout.contains("created 1") && stdout.contains("failed 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("broken.md"),
        "the failure names its source: {stdout}"
    );
}

#[tokio::test]
async fn replaying_the_history_leaves_the_last_version_of_every_document() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let server = ServerProcess::start(data.path());
    let history = corpus::history_path();
    let output = run(&[
        "import",
        "--quiet",
        "--server",
        &server.url(),
        &history.display().to_string(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "history import failed: {stdout}");

    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(
        std::fs::File::open(&history).expect("open"),
    ));
    let mut last_version: HashMap<String, String> = HashMap::new();
    let mut entries = 0;
    for line in reader.lines() {
        let entry: serde_json::Value = serde_json::from_str(&line.expect("a line")).expect("json");
        let path = entry["path"].as_str().expect("a path");
        last_version.insert(
            stem(path),
            entry["document"].as_str().expect("a document").to_string(),
        );
        entries += 1;
    }
    let created = last_version.len();
    assert!(
        stdout.contains(&format!("created {created},")) && stdout.contains("failed 0"),
        "{entries} entries over {created} documents: {stdout}"
    );

    let mut client = ArticleServiceClient::connect(server.url())
        .await
        .expect("connect");
    for (key, document) in &last_version {
        let request = GetArticleRequest {
            lookup: Some(Lookup::Key(key.clone())),
        };
        let article = client
            .get_article(request)
            .await
            .expect("found")
            .into_inner()
            .article
            .expect("an article");
        let (_, served) = newswire::convert::from_proto::article_from_proto(&article, "article")
            .expect("converts");
        let expected = newswire::document::parse(key, document).expect("parses");
        assert_eq!(served, expected, "{key} holds its last version");
    }
}

#[tokio::test]
async fn acknowledged_writes_survive_sigkill() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let mut server = ServerProcess::start(data.path());
    let mut client = ArticleServiceClient::connect(server.url())
        .await
        .expect("connect");
    let mut acknowledged = Vec::new();
    for index in 0..40 {
        let article = Article {
            key: format!("durable-{index}"),
            title: format!("Durable {index}"),
            published_date_time: Some(prost_types::Timestamp {
                seconds: 1_600_000_000 + index,
                nanos: 0,
            }),
            ..Article::default()
        };
        let stored = client
            .create_article(CreateArticleRequest {
                article: Some(article),
            })
            .await
            .expect("create");
        acknowledged.push(stored.into_inner().article.expect("an article"));
    }
    server.signal("KILL");
    let status = server.wait_for_exit(Duration::from_secs(10));
    assert!(!status.success(), "SIGKILL ends the process abruptly");

    let restarted = ServerProcess::start(data.path());
    let mut client = ArticleServiceClient::connect(restarted.url())
        .await
        .expect("connect");
    for expected in acknowledged {
        let request = GetArticleRequest {
            lookup: Some(Lookup::Id(expected.id.clone())),
        };
        let found = client
            .get_article(request)
            .await
            .expect("still there")
            .into_inner()
            .article;
        assert_eq!(found, Some(expected));
    }
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let mut server = ServerProcess::start(data.path());
    server.signal("TERM");
    let status = server.wait_for_exit(Duration::from_secs(20));
    assert!(status.success(), "exit status after SIGTERM: {status}");
}

#[test]
fn bad_configuration_is_refused_at_start_with_a_clear_error() {
    let output = run(&["serve", "--database", "mysql://nope"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--database"),
        "the error names the setting: {stderr}"
    );
    let output = run(&["serve", "--listen", "not-an-address"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--listen"));
}

#[test]
fn an_unreachable_server_is_reported_with_its_cause_and_a_hint() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let server = format!("http://127.0.0.1:{port}");
    let output = run(&["export", "--server", &server, "unused-export-folder"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot reach newswire at {server}")),
        "{stderr}"
    );
    assert!(
        stderr.to_lowercase().contains("connection refused"),
        "the cause is named, not only \"transport error\": {stderr}"
    );
    assert!(stderr.contains("newswire serve"), "a hint: {stderr}");
}

/// `newswire watch` prints each event as a JSON line: the filter applies,
/// `--from` resumes, and an article prints with its front-matter keys.
#[tokio::test]
async fn watch_prints_filtered_events_as_json_lines() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let server = ServerProcess::start(data.path());
    let mut client = ArticleServiceClient::connect(server.url())
        .await
        .expect("connect");
    let mut last_revision = 0;
    for (key, topic) in [
        ("one", "Power Apps"),
        ("two", "Other"),
        ("three", "Power Apps"),
    ] {
        let article = Article {
            key: key.to_string(),
            title: format!("Title {key}"),
            published_date_time: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            topics: vec![topic.to_string()],
            ..Article::default()
        };
        last_revision = client
            .create_article(CreateArticleRequest {
                article: Some(article),
            })
            .await
            .expect("create")
            .into_inner()
            .article
            .expect("an article")
            .revision;
    }

    let mut watch = Command::new(binary())
        .args([
            "watch",
            "--server",
            &server.url(),
            "--from",
            "0",
            "--topic",
            "Power Apps",
            "--progress-interval",
            "200ms",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("newswire watch starts");
    let stdout = watch.stdout.take().expect("stdout");
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if lines.send(line.expect("a line")).is_err() {
                return;
            }
        }
    });
    let mut events: Vec<serde_json::Value> = Vec::new();
    loop {
        let line = received
            .recv_timeout(Duration::from_secs(60))
            .expect("a line within the deadline");
        let event: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
        let revision = event["revision"].as_i64().expect("a revision");
        events.push(event);
        if revision >= last_revision {
            break;
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    let summary: Vec<(String, i64, String)> = events
        .iter()
        .map(|event| {
            (
                event["type"].as_str().expect("a type").to_string(),
                event["revision"].as_i64().expect("a revision"),
                event["article"]["key"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("CREATED".to_string(), 1, "one".to_string()),
            ("CREATED".to_string(), 3, "three".to_string()),
        ]
    );
    assert_eq!(events[0]["article"]["title"], "Title one");
    assert_eq!(events[0]["article"]["topics"][0], "Power Apps");
    assert!(events[0]["commitTime"].is_string());
}
