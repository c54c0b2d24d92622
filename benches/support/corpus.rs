//! The shared corpus beside the repository: the feed documents and the
//! replayable history, read once before anything is timed.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use anyhow::{Context, bail};
use serde::Deserialize;

/// The feed folders, each holding one document per file.
const FOLDERS: [&str; 3] = ["seed", "powerapps-news", "ai-news-sample"];
/// How many documents the folders hold together; a different count means
/// the figures are not comparable with earlier runs.
pub const DOCUMENT_COUNT: usize = 736;
/// How many entries the history holds.
pub const HISTORY_COUNT: usize = 6956;

/// One import item: where it came from (the import `source`) and its text.
#[derive(Debug, Clone)]
pub struct SourcedDocument {
    pub source: String,
    pub text: String,
}

/// One line of `powerapps-history.jsonl.gz`.
#[derive(Debug, Deserialize)]
struct HistoryEntry {
    path: String,
    op: String,
    document: Option<String>,
}

/// `../shared/corpus`, or `NEWSWIRE_CORPUS_DIR`.
pub fn directory() -> anyhow::Result<PathBuf> {
    let directory = std::env::var_os("NEWSWIRE_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus")));
    if !directory.is_dir() {
        bail!(
            "the corpus is missing at {}: set NEWSWIRE_CORPUS_DIR",
            directory.display()
        );
    }
    Ok(directory)
}

/// Every corpus document, sorted by folder then file name; the source is
/// the file name, so the key is the file name without extension.
pub fn documents() -> anyhow::Result<Vec<SourcedDocument>> {
    let root = directory()?;
    let mut documents = Vec::with_capacity(DOCUMENT_COUNT);
    for folder in FOLDERS {
        let mut paths = std::fs::read_dir(root.join(folder))
            .with_context(|| format!("listing corpus folder {folder}"))?
            .map(|entry| entry.map(|entry| entry.path()))
            .collect::<Result<Vec<_>, _>>()?;
        paths.sort();
        for path in paths {
            let source = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            documents.push(SourcedDocument { source, text });
        }
    }
    if documents.len() != DOCUMENT_COUNT {
        bail!(
            "the corpus holds {} documents, not {DOCUMENT_COUNT}",
            documents.len()
        );
    }
    Ok(documents)
}

/// Every history entry in order, as `newswire import` sends it: the
/// entry's path is the source.
pub fn history() -> anyhow::Result<Vec<SourcedDocument>> {
    let path = directory()?.join("powerapps-history.jsonl.gz");
    let file = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let reader = BufReader::new(flate2::read::GzDecoder::new(file));
    let mut entries = Vec::with_capacity(HISTORY_COUNT);
    for (number, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        let entry: HistoryEntry = serde_json::from_str(&line)
            .with_context(|| format!("{}:{}: not a history entry", path.display(), number + 1))?;
        match entry.document {
            Some(text) if entry.op == "upsert" => entries.push(SourcedDocument {
                source: entry.path,
                text,
            }),
            _ => bail!("{}:{}: not an upsert", path.display(), number + 1),
        }
    }
    if entries.len() != HISTORY_COUNT {
        bail!(
            "the history holds {} entries, not {HISTORY_COUNT}",
            entries.len()
        );
    }
    Ok(entries)
}
