//! Every real document survives `parse` → `render` → `parse`: the rendered
//! front matter is the same YAML value as the original's, the body is the
//! same bytes, and parsing the rendering gives the same content.
//!
//! The corpus lives beside the repository in `../shared/corpus` (or where
//! `NEWSWIRE_CORPUS_DIR` points); these tests fail, never skip, without it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use newswire::document;

/// The corpus folders holding one document per file.
const FOLDERS: [&str; 3] = ["seed", "powerapps-news", "ai-news-sample"];
/// How many documents those folders hold together.
const FOLDER_DOCUMENT_COUNT: usize = 736;
/// The feed's history: one JSON object per line, the document in `document`.
const HISTORY_FILE: &str = "powerapps-history.jsonl.gz";

fn corpus_dir() -> PathBuf {
    let directory = match std::env::var_os("NEWSWIRE_CORPUS_DIR") {
        Some(directory) => PathBuf::from(directory),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
    };
    assert!(
        directory.is_dir(),
        "the corpus is missing at {}: put shared/ beside the repository or set \
         NEWSWIRE_CORPUS_DIR",
        directory.display()
    );
    directory
}

/// Cuts a document at its delimiter lines into front matter and body,
/// independently of `document`'s own splitting.
fn split(text: &str) -> Option<(&str, &str)> {
    let after_opening = text.strip_prefix("---\n")?;
    let mut offset = 0;
    for line in after_opening.split_inclusive('\n') {
        if line.trim_end_matches('\n') == "---" {
            let body_start = offset + line.len();
            return Some((&after_opening[..offset], &after_opening[body_start..]));
        }
        offset += line.len();
    }
    None
}

/// Checks one document, describing the first difference found.
fn check_round_trip(source: &str, text: &str) -> Result<(), String> {
    let content = document::parse(source, text).map_err(|error| error.to_string())?;
    let rendered = document::render(&content);
    let (front_matter, body) = split(text).ok_or("the test cannot split the original")?;
    let (rendered_front_matter, rendered_body) =
        split(&rendered).ok_or_else(|| format!("{source}: cannot split the rendering"))?;

    let yaml = |text: &str| serde_norway::from_str::<serde_norway::Value>(text);
    let original_value = yaml(front_matter).map_err(|error| format!("{source}: {error}"))?;
    let rendered_value = yaml(rendered_front_matter)
        .map_err(|error| format!("{source}: rendering is not YAML: {error}"))?;
    if original_value != rendered_value {
        return Err(format!(
            "{source}: front matter differs\n--- original\n{front_matter}\n--- rendered\n\
             {rendered_front_matter}"
        ));
    }
    if content.body != body || rendered_body != body {
        return Err(format!("{source}: body differs"));
    }
    let reparsed = document::parse(source, &rendered)
        .map_err(|error| format!("{source}: rendering does not parse: {error}"))?;
    if reparsed != content {
        return Err(format!(
            "{source}: parse(render(x)) != x\n{reparsed:?}\n{content:?}"
        ));
    }
    Ok(())
}

/// Fails with every broken document listed (the first few in full).
fn assert_all_pass(failures: &[String], checked: usize) {
    assert!(
        failures.is_empty(),
        "{} of {checked} documents fail the round trip:\n{}",
        failures.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

#[test]
fn every_corpus_document_round_trips() {
    let corpus = corpus_dir();
    let mut checked = 0;
    let mut failures = Vec::new();
    for folder in FOLDERS {
        let entries = std::fs::read_dir(corpus.join(folder))
            .unwrap_or_else(|error| panic!("cannot list corpus folder {folder}: {error}"));
        for entry in entries {
            let path = entry.expect("a readable corpus entry").path();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
            let source = format!(
                "{folder}/{}",
                path.file_name().unwrap_or_default().display()
            );
            checked += 1;
            if let Err(failure) = check_round_trip(&source, &text) {
                failures.push(failure);
            }
        }
    }
    assert_eq!(checked, FOLDER_DOCUMENT_COUNT, "the corpus folders changed");
    assert_all_pass(&failures, checked);
}

#[test]
fn every_history_document_round_trips() {
    let path = corpus_dir().join(HISTORY_FILE);
    let file = std::fs::File::open(&path)
        .unwrap_or_else(|error| panic!("cannot open {}: {error}", path.display()));
    let reader = BufReader::new(flate2::read::GzDecoder::new(file));
    let mut checked = 0;
    let mut failures = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let line = line.unwrap_or_else(|error| panic!("{HISTORY_FILE}: unreadable: {error}"));
        let entry: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|error| panic!("{HISTORY_FILE}:{}: not JSON: {error}", index + 1));
        let text = entry["document"]
            .as_str()
            .unwrap_or_else(|| panic!("{HISTORY_FILE}:{}: no document", index + 1));
        let source = format!("{HISTORY_FILE}:{}", index + 1);
        checked += 1;
        if let Err(failure) = check_round_trip(&source, text) {
            failures.push(failure);
        }
    }
    assert!(checked > 0, "{HISTORY_FILE} holds no documents");
    assert_all_pass(&failures, checked);
}
