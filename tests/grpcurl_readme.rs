//! The README's grpcurl examples work as written: every command line that
//! starts with `grpcurl` inside a ```sh block runs, in README order, against
//! a server holding the whole corpus, with `localhost:50051` replaced by the
//! test server's address. Each must exit 0 and, unless it is a `list` or
//! `describe`, print JSON.
//!
//! Needs the grpcurl that `scripts/test` installs into `.tools/venv`; it
//! finds it through `NEWSWIRE_GRPCURL`, which `scripts/test` sets.

mod support;

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{Command, ExitStatus, Stdio},
    thread,
    time::{Duration, Instant},
};

use support::server::TestServer;

/// The address the README's examples use.
const README_ADDRESS: &str = "localhost:50051";
/// Fewer examples than this means the extraction found nothing to test.
const MINIMUM_EXAMPLES: usize = 5;
/// One grpcurl call against a local server takes milliseconds.
const CHILD_DEADLINE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn readme_grpcurl_examples_run_against_a_server_with_the_corpus() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme_path = repository.join("README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap_or_else(|error| {
        panic!(
            "cannot read {} ({error}). The README must document the service with at least \
             {MINIMUM_EXAMPLES} `grpcurl -plaintext {README_ADDRESS} ...` commands in ```sh \
             blocks; this test runs them.",
            readme_path.display()
        )
    });
    let examples = grpcurl_examples(&readme).unwrap_or_else(|error| panic!("README.md: {error}"));
    assert!(
        examples.len() >= MINIMUM_EXAMPLES,
        "README.md has {} grpcurl command(s) in ```sh blocks; expected at least {MINIMUM_EXAMPLES}",
        examples.len()
    );
    for example in &examples {
        assert!(
            example.command.contains(README_ADDRESS),
            "README.md line {}: the grpcurl example does not use {README_ADDRESS}, so the test \
             cannot point it at its server:\n{}",
            example.line,
            example.command
        );
    }

    let grpcurl_folder = grpcurl_on_path();
    let search_path = match std::env::var_os("PATH") {
        Some(path) => format!(
            "{}:{}",
            grpcurl_folder.path().display(),
            path.to_string_lossy()
        ),
        None => grpcurl_folder.path().display().to_string(),
    };

    // Exactly the configuration the README's run command serves with: the
    // examples must carry the development token where one is needed.
    let server = TestServer::start_development().await;
    let imported = server.import_corpus().await;
    // The examples name corpus articles: without them every lookup would
    // fail with a confusing NOT_FOUND.
    let first_failures: Vec<String> = imported
        .failures
        .iter()
        .take(5)
        .map(|failure| format!("{}: {}", failure.source, failure.reason))
        .collect();
    assert_eq!(
        imported.failed,
        0,
        "importing the corpus failed for {} documents, so the README examples cannot run; \
         first failures:\n{}",
        imported.failed,
        first_failures.join("\n")
    );
    let address = server.address().to_string();

    let mut failures = Vec::new();
    for example in &examples {
        let command_text = example.command.replace(README_ADDRESS, &address);
        let mut command = Command::new("bash");
        command
            .current_dir(repository)
            .env("PATH", &search_path)
            .arg("-c")
            .arg(&command_text);
        let finished = run_to_completion(command).await;
        println!(
            "README.md line {}: {}\n{}{}",
            example.line, command_text, finished.stdout, finished.stderr
        );
        if let Err(problem) = judge(example, &finished) {
            failures.push(format!(
                "README.md line {}: {problem}\n$ {command_text}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                example.line,
                truncated(&finished.stdout),
                truncated(&finished.stderr)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} README grpcurl examples failed:\n\n{}",
        failures.len(),
        examples.len(),
        failures.join("\n\n")
    );
}

/// Exit status 0, and JSON on stdout unless the example lists or describes.
fn judge(example: &Example, finished: &Finished) -> Result<(), String> {
    match finished.status {
        Some(status) if status.success() => {}
        Some(status) => return Err(format!("exited with {status}")),
        None => return Err(format!("killed after {CHILD_DEADLINE:?}")),
    }
    if example.is_list_or_describe() {
        return match finished.stdout.trim().is_empty() {
            true => Err("printed nothing".to_owned()),
            false => Ok(()),
        };
    }
    // A unary call prints one JSON object; a streaming call one per message.
    let mut values = 0;
    for value in
        serde_json::Deserializer::from_str(&finished.stdout).into_iter::<serde_json::Value>()
    {
        value.map_err(|error| format!("stdout is not JSON: {error}"))?;
        values += 1;
    }
    match values {
        0 => Err("printed no JSON".to_owned()),
        _ => Ok(()),
    }
}

/// One grpcurl command from the README, with its continuation lines.
#[derive(Debug, PartialEq)]
struct Example {
    /// 1-based line of the README where the command starts.
    line: usize,
    /// The command as a shell would read it, newlines included.
    command: String,
}

impl Example {
    fn is_list_or_describe(&self) -> bool {
        self.command
            .split_whitespace()
            .any(|word| word == "list" || word == "describe")
    }
}

/// Every command starting with `grpcurl` inside ```sh (or bash/shell)
/// fenced blocks. A command goes on while a line ends in `\`, a quote is
/// open, or a here-document has not reached its terminator.
fn grpcurl_examples(markdown: &str) -> Result<Vec<Example>, String> {
    let mut examples = Vec::new();
    let mut lines = markdown
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line));
    while let Some((_, line)) = lines.next() {
        let Some(fence) = opening_fence(line) else {
            continue;
        };
        let is_shell = matches!(fence.language, "sh" | "bash" | "shell");
        let mut pending: Option<PendingCommand> = None;
        let mut closed = false;
        for (number, line) in lines.by_ref() {
            if line.trim_start().starts_with(fence.marker) {
                closed = true;
                break;
            }
            if let Some(command) = pending.as_mut() {
                command.push_line(line);
                if command.is_complete() {
                    examples.push(pending.take().expect("pending is Some here").finish());
                }
                continue;
            }
            if !is_shell {
                continue;
            }
            let trimmed = line.trim_start();
            if trimmed == "grpcurl" || trimmed.starts_with("grpcurl ") {
                let command = PendingCommand::start(number, trimmed);
                if command.is_complete() {
                    examples.push(command.finish());
                } else {
                    pending = Some(command);
                }
            }
        }
        if let Some(command) = pending {
            return Err(format!(
                "the command at line {} never ends (an open quote, a trailing `\\` or an \
                 unterminated here-document)",
                command.line
            ));
        }
        if !closed {
            return Err(format!("a ```{} block is never closed", fence.language));
        }
    }
    Ok(examples)
}

struct Fence<'a> {
    /// The backticks or tildes that open, and so close, the block.
    marker: &'a str,
    language: &'a str,
}

fn opening_fence(line: &str) -> Option<Fence<'_>> {
    let trimmed = line.trim_start();
    let fence_character = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let marker_length = trimmed
        .chars()
        .take_while(|c| *c == fence_character)
        .count();
    if marker_length < 3 {
        return None;
    }
    let (marker, info) = trimmed.split_at(marker_length);
    let language = info.split_whitespace().next().unwrap_or("");
    Some(Fence { marker, language })
}

/// A command being read line by line, with just enough shell lexing to know
/// where it ends.
struct PendingCommand {
    line: usize,
    text: String,
    quote: Option<char>,
    continues: bool,
    /// Here-document terminators still to be seen, in order.
    heredoc_terminators: Vec<String>,
    in_heredoc: bool,
}

impl PendingCommand {
    fn start(line: usize, first_line: &str) -> Self {
        let mut command = PendingCommand {
            line,
            text: String::new(),
            quote: None,
            continues: false,
            heredoc_terminators: Vec::new(),
            in_heredoc: false,
        };
        command.push_line(first_line);
        command
    }

    fn push_line(&mut self, line: &str) {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(line);
        if self.in_heredoc {
            let terminator = line.trim_start_matches('\t');
            if self
                .heredoc_terminators
                .first()
                .is_some_and(|t| t == terminator)
            {
                self.heredoc_terminators.remove(0);
                self.in_heredoc = !self.heredoc_terminators.is_empty();
            }
            return;
        }
        self.lex(line);
        if !self.continues && self.quote.is_none() && !self.heredoc_terminators.is_empty() {
            self.in_heredoc = true;
        }
    }

    /// Tracks quotes, a trailing backslash, comments and `<<WORD`.
    fn lex(&mut self, line: &str) {
        self.continues = false;
        let characters: Vec<char> = line.chars().collect();
        let mut index = 0;
        while index < characters.len() {
            let character = characters[index];
            match (self.quote, character) {
                (Some('\''), '\'') => self.quote = None,
                (Some('\''), _) => {}
                (Some(_), '\\') => index += 1,
                (Some(_), '"') => self.quote = None,
                (Some(_), _) => {}
                (None, '\\') if index + 1 == characters.len() => self.continues = true,
                (None, '\\') => index += 1,
                (None, '\'' | '"') => self.quote = Some(character),
                (None, '#') if index == 0 || characters[index - 1].is_whitespace() => return,
                (None, '<') if characters.get(index + 1) == Some(&'<') => {
                    index += self.read_heredoc_start(&characters[index + 2..]) + 1;
                }
                (None, _) => {}
            }
            index += 1;
        }
        if self.quote == Some('"') && line.ends_with('\\') {
            self.continues = true;
        }
    }

    /// Reads `[-]['"]WORD['"]` after `<<` and returns how many characters it
    /// took. `<<<` (a here-string) has no terminator.
    fn read_heredoc_start(&mut self, rest: &[char]) -> usize {
        if rest.first() == Some(&'<') {
            return 1;
        }
        let mut taken = 0;
        if rest.first() == Some(&'-') {
            taken += 1;
        }
        while rest.get(taken).is_some_and(|c| *c == ' ') {
            taken += 1;
        }
        let word: String = rest[taken..]
            .iter()
            .take_while(|c| !c.is_whitespace() && !matches!(c, ';' | '|' | '&' | '<' | '>'))
            .collect();
        taken += word.chars().count();
        let terminator = word.replace(['\'', '"', '\\'], "");
        if !terminator.is_empty() {
            self.heredoc_terminators.push(terminator);
        }
        taken
    }

    fn is_complete(&self) -> bool {
        !self.continues
            && self.quote.is_none()
            && !self.in_heredoc
            && self.heredoc_terminators.is_empty()
    }

    fn finish(self) -> Example {
        Example {
            line: self.line,
            command: self.text,
        }
    }
}

/// A folder holding a `grpcurl` link to `NEWSWIRE_GRPCURL`, put first on the
/// examples' PATH so they run exactly as a reader types them.
fn grpcurl_on_path() -> tempfile::TempDir {
    let Some(grpcurl) = std::env::var_os("NEWSWIRE_GRPCURL") else {
        panic!(
            "NEWSWIRE_GRPCURL is not set. Run the tests with `scripts/test` (for this test alone: \
             `scripts/test --test grpcurl_readme`); it installs grpcurl into .tools/ and sets \
             NEWSWIRE_GRPCURL."
        );
    };
    let grpcurl = PathBuf::from(grpcurl);
    assert!(
        grpcurl.exists(),
        "NEWSWIRE_GRPCURL={} does not exist; run `scripts/test` to (re)install .tools/",
        grpcurl.display()
    );
    let folder = tempfile::tempdir().expect("create a temporary folder for the grpcurl link");
    std::os::unix::fs::symlink(&grpcurl, folder.path().join("grpcurl"))
        .expect("link grpcurl into the temporary folder");
    folder
}

fn truncated(text: &str) -> &str {
    const LIMIT: usize = 4000;
    match text.char_indices().nth(LIMIT) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// What a finished child process did.
struct Finished {
    /// None when it was killed at the deadline.
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
}

/// Runs `command` to its end (or kills it at `CHILD_DEADLINE`) on the
/// blocking pool, so the server's tasks keep running on the test runtime
/// meanwhile.
async fn run_to_completion(command: Command) -> Finished {
    tokio::task::spawn_blocking(move || run_blocking(command))
        .await
        .expect("the child-process runner panicked")
}

fn run_blocking(mut command: Command) -> Finished {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("could not start {command:?}: {error}"));
    // Both pipes are drained while the child runs, so a chatty child never
    // blocks on a full pipe.
    let stdout = drain_in_background(child.stdout.take());
    let stderr = drain_in_background(child.stderr.take());
    let started = Instant::now();
    // std has no wait-with-timeout: poll the child, which is cheap next to
    // the time it runs.
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > CHILD_DEADLINE => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(error) => panic!("waiting for {command:?} failed: {error}"),
        }
    };
    Finished {
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

#[cfg(test)]
mod extraction {
    use super::*;

    fn commands(markdown: &str) -> Vec<String> {
        grpcurl_examples(markdown)
            .expect("the markdown parses")
            .into_iter()
            .map(|example| example.command)
            .collect()
    }

    #[test]
    fn takes_grpcurl_lines_from_shell_blocks_only() {
        let markdown = "grpcurl outside\n```sh\ncargo run -- serve\ngrpcurl -plaintext localhost:50051 list\n```\n\
                        ```text\ngrpcurl not shell\n```\n```bash\n  grpcurl x\n```\n";
        assert_eq!(
            commands(markdown),
            ["grpcurl -plaintext localhost:50051 list", "grpcurl x"]
        );
    }

    #[test]
    fn records_the_starting_line() {
        let markdown = "# Title\n\n```sh\n\ngrpcurl a\n```\n";
        let examples = grpcurl_examples(markdown).expect("parses");
        assert_eq!(examples[0].line, 5);
    }

    #[test]
    fn follows_backslash_continuations() {
        let markdown = "```sh\ngrpcurl -plaintext \\\n  -d '{\"key\": \"a\"}' \\\n  localhost:50051 x/Y\necho done\n```\n";
        assert_eq!(
            commands(markdown),
            ["grpcurl -plaintext \\\n  -d '{\"key\": \"a\"}' \\\n  localhost:50051 x/Y"]
        );
    }

    #[test]
    fn follows_quotes_across_lines() {
        let markdown =
            "```sh\ngrpcurl -d '{\n  \"key\": \"it\\\\s\"\n}' localhost:50051 x/Y\n```\n";
        assert_eq!(
            commands(markdown),
            ["grpcurl -d '{\n  \"key\": \"it\\\\s\"\n}' localhost:50051 x/Y"]
        );
    }

    #[test]
    fn follows_here_documents() {
        let markdown =
            "```sh\ngrpcurl -d @ localhost:50051 x/Y <<'EOF'\n{\"a\": 1}\nEOF\ngrpcurl z\n```\n";
        assert_eq!(
            commands(markdown),
            [
                "grpcurl -d @ localhost:50051 x/Y <<'EOF'\n{\"a\": 1}\nEOF",
                "grpcurl z"
            ]
        );
    }

    #[test]
    fn ignores_quotes_in_comments() {
        let markdown = "```sh\ngrpcurl x # isn't it\n```\n";
        assert_eq!(commands(markdown), ["grpcurl x # isn't it"]);
    }

    #[test]
    fn reports_a_command_that_never_ends() {
        let error = grpcurl_examples("```sh\ngrpcurl -d '{\n```\n").expect_err("an open quote");
        assert!(error.contains("line 2"), "{error}");
    }

    #[test]
    fn tells_list_and_describe_from_calls() {
        let example = |command: &str| Example {
            line: 1,
            command: command.to_owned(),
        };
        assert!(example("grpcurl -plaintext localhost:50051 list").is_list_or_describe());
        assert!(
            example("grpcurl -plaintext localhost:50051 describe newswire.v1.Article")
                .is_list_or_describe()
        );
        assert!(
            !example(
                "grpcurl -plaintext -d '{}' localhost:50051 newswire.v1.ArticleService/ListArticles"
            )
            .is_list_or_describe()
        );
    }
}
