//! The configuration file and `newswire config`: `config check` validates a
//! file (with the flags and environment as `serve` takes them) and prints
//! the effective configuration with secrets redacted; a bad file is
//! refused with the field at fault; `serve` without any configuration
//! denies every call; the client commands present `--token`.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use support::process::{ServerProcess, binary};
use support::server::DEVELOPMENT_TOKEN;

fn newswire(arguments: &[&str]) -> std::process::Output {
    Command::new(binary())
        .args(arguments)
        .env_remove("NEWSWIRE_CONFIG")
        .env_remove("NEWSWIRE_TOKEN")
        .env_remove("NEWSWIRE_LISTEN")
        .env_remove("NEWSWIRE_DATABASE_URL")
        .output()
        .expect("the binary runs")
}

fn development_config() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config/development.toml")
        .display()
        .to_string()
}

#[test]
fn config_check_prints_the_effective_configuration_with_secrets_redacted() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let file = directory.path().join("newswire.toml");
    std::fs::write(
        &file,
        r#"
[server]
listen = "127.0.0.1:6000"
database = "postgres://newswire:hunter2-secret@db.internal:5432/newswire"

[auth]
open = ["health"]

[[auth.callers]]
name = "importer"
token_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
scopes = ["write"]

[auth.jwt]
issuer = "https://issuer.example"
audience = "newswire"

[[auth.jwt.keys]]
algorithm = "HS256"
secret = "a-jwt-secret-that-is-long-enough-0123456789"

[limits]
max_concurrent_requests = 64
"#,
    )
    .expect("write the file");
    let file = file.display().to_string();
    // A flag wins over the file.
    let output = newswire(&[
        "config",
        "check",
        "--config",
        &file,
        "--max-message-bytes",
        "1048576",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let effective: toml::Value = toml::from_str(&stdout).expect("the output is TOML");
    assert_eq!(
        effective["server"]["listen"].as_str(),
        Some("127.0.0.1:6000")
    );
    assert_eq!(
        effective["server"]["max_message_bytes"].as_integer(),
        Some(1_048_576)
    );
    assert_eq!(
        effective["limits"]["max_concurrent_requests"].as_integer(),
        Some(64)
    );
    // Defaults are shown too.
    assert_eq!(effective["limits"]["max_watchers"].as_integer(), Some(1024));
    for secret in [
        "hunter2-secret",
        "a-jwt-secret-that-is-long-enough-0123456789",
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    ] {
        assert!(!stdout.contains(secret), "{secret} is printed:\n{stdout}");
    }
    assert!(
        stdout.contains("9f86d081"),
        "the hash prefix tells callers apart"
    );
}

#[test]
fn bad_configuration_files_are_refused_with_the_field() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let cases = [
        (
            "[limits]\nmax_concurent_requests = 5\n",
            "max_concurent_requests",
        ),
        (
            "[limits]\nmax_concurrent_requests = 0\n",
            "limits.max_concurrent_requests",
        ),
        (
            "[[auth.callers]]\nname = \"x\"\ntoken_sha256 = \"abc\"\nscopes = [\"read\"]\n",
            "auth.callers[0].token_sha256",
        ),
        (
            "[[auth.callers]]\nname = \"x\"\ntoken_sha256 = \"abc\"\nscopes = [\"root\"]\n",
            "root",
        ),
        (
            "[auth.jwt]\nissuer = \"i\"\naudience = \"a\"\nleeway_seconds = 3600\n\
             [[auth.jwt.keys]]\nalgorithm = \"HS256\"\nsecret = \"0123456789abcdef0123456789abcdef\"\n",
            "auth.jwt.leeway_seconds",
        ),
        (
            "[auth.jwt]\nissuer = \"i\"\naudience = \"a\"\n\
             [[auth.jwt.keys]]\nalgorithm = \"none\"\nsecret = \"0123456789abcdef0123456789abcdef\"\n",
            "auth.jwt.keys[0].algorithm",
        ),
        (
            "[tls]\ncertificate_file = \"missing.pem\"\nkey_file = \"missing.key\"\n",
            "tls.certificate_file",
        ),
    ];
    for (index, (text, expected)) in cases.iter().enumerate() {
        let file = directory.path().join(format!("bad-{index}.toml"));
        std::fs::write(&file, text).expect("write");
        let output = newswire(&["config", "check", "--config", &file.display().to_string()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{text} was accepted");
        assert!(stderr.contains(expected), "{text}: {stderr}");
    }
}

#[test]
fn hash_token_prints_the_sha256_the_file_holds() {
    let mut child = Command::new(binary())
        .args(["config", "hash-token"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{DEVELOPMENT_TOKEN}\n").as_bytes())
        .expect("write the token");
    let output = child.wait_with_output().expect("it ends");
    assert!(output.status.success());
    let development = std::fs::read_to_string(development_config()).expect("readable");
    let hash = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert_eq!(hash.len(), 64);
    assert!(
        development.contains(&hash),
        "config/development.toml holds {hash}"
    );
}

#[test]
fn the_client_commands_present_their_token_and_nothing_is_open_by_default() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let documents = tempfile::tempdir().expect("a temporary directory");
    let document = support::corpus::documents().remove(0);
    std::fs::write(documents.path().join("one.md"), &document.text).expect("write");
    let folder = documents.path().display().to_string();

    // The development configuration without the anonymous opt-in.
    let server = ServerProcess::start_with(data.path(), &[]);
    let url = server.url();
    let refused = newswire(&["import", "--quiet", "--server", &url, &folder]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains("`write`"), "{stderr}");
    let imported = newswire(&[
        "import",
        "--quiet",
        "--server",
        &url,
        "--token",
        DEVELOPMENT_TOKEN,
        &folder,
    ]);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    assert!(String::from_utf8_lossy(&imported.stdout).contains("created 1"));
    drop(server);

    // `serve` with no configuration at all: every article call is refused.
    let data = tempfile::tempdir().expect("a temporary directory");
    let mut bare = Command::new(binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data.path())
        .env_remove("NEWSWIRE_CONFIG")
        .env("NEWSWIRE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let address = support::process::read_address(&mut bare);
    let exported = tempfile::tempdir().expect("a temporary directory");
    let output = newswire(&[
        "export",
        "--server",
        &format!("http://{address}"),
        "--token",
        DEVELOPMENT_TOKEN,
        &exported.path().display().to_string(),
    ]);
    let _ = bare.kill();
    let _ = bare.wait();
    assert!(!output.status.success(), "an unconfigured server served");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not valid"), "{stderr}");
}
