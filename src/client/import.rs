//! `newswire import`: streams documents from files, directories and history
//! files to a running server through ImportArticles.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::cli::ImportArgs;
use crate::input_files::{Input, collect_inputs};
use crate::proto::{ImportArticlesRequest, ImportArticlesResponse, import_articles_request::Item};

/// One line of a history file such as `powerapps-history.jsonl.gz`.
#[derive(Debug, Deserialize)]
struct HistoryEntry {
    path: String,
    op: String,
    #[serde(default)]
    document: Option<String>,
}

/// Why a history line is not an import item.
#[derive(Debug)]
pub enum HistoryLineError {
    /// The line is not a JSON history entry.
    NotAnEntry(serde_json::Error),
    /// The entry is not an upsert with a document, the only change import
    /// sends.
    NotAnUpsert { op: String },
}

/// One line of a history file as an import item: its source (the entry's
/// path) and its document.
pub fn history_item(line: &str) -> Result<(String, String), HistoryLineError> {
    let entry: HistoryEntry = serde_json::from_str(line).map_err(HistoryLineError::NotAnEntry)?;
    match entry.document.filter(|_| entry.op == "upsert") {
        Some(document) => Ok((entry.path, document)),
        None => Err(HistoryLineError::NotAnUpsert { op: entry.op }),
    }
}

/// Imports everything `config` names and prints a summary; fails if any
/// item failed.
pub async fn run(config: ImportArgs) -> anyhow::Result<()> {
    let inputs = collect_inputs(&config.paths)?;
    let total = count_items(&inputs)?;
    let progress = if config.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total)
    };
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} documents {elapsed} ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    let mut client = super::connect(&config.server).await?;
    let (sender, receiver) = mpsc::channel(64);
    let reader_progress = progress.clone();
    let reader =
        tokio::task::spawn_blocking(move || send_items(&inputs, &sender, &reader_progress));
    let response = client.import_articles(ReceiverStream::new(receiver)).await;
    reader.await.context("the reading task panicked")??;
    progress.finish_and_clear();
    let summary = response
        .map_err(|status| anyhow::anyhow!("import failed: {}", status.message()))?
        .into_inner();
    print_summary(&summary);
    if summary.failed > 0 {
        anyhow::bail!("{} of {total} items failed", summary.failed);
    }
    Ok(())
}

fn open_history(path: &Path) -> anyhow::Result<Box<dyn BufRead>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|extension| extension == "gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::new(reader)))
}

fn count_items(inputs: &[Input]) -> anyhow::Result<u64> {
    let mut total = 0;
    for input in inputs {
        total += match input {
            Input::Document(_) => 1,
            Input::History(path) => open_history(path)?.lines().count() as u64,
        };
    }
    Ok(total)
}

/// Reads every item and sends it; runs on a blocking thread.
fn send_items(
    inputs: &[Input],
    sender: &mpsc::Sender<ImportArticlesRequest>,
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    let send = |source: String, document: String| {
        progress.inc(1);
        let request = ImportArticlesRequest {
            source,
            item: Some(Item::Document(document)),
        };
        // A closed channel means the call already ended; its status says why.
        sender.blocking_send(request).is_ok()
    };
    for input in inputs {
        match input {
            Input::Document(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let source = path
                    .file_name()
                    .map(|name| name.to_string_lossy().to_string())
                    .unwrap_or_default();
                if !send(source, text) {
                    return Ok(());
                }
            }
            Input::History(path) => {
                for (number, line) in open_history(path)?.lines().enumerate() {
                    let line = line.with_context(|| format!("cannot read {}", path.display()))?;
                    let (source, document) = match history_item(&line) {
                        Ok(item) => item,
                        Err(HistoryLineError::NotAnEntry(error)) => {
                            return Err(anyhow::Error::new(error).context(format!(
                                "{}:{}: not a history entry",
                                path.display(),
                                number + 1
                            )));
                        }
                        Err(HistoryLineError::NotAnUpsert { op }) => anyhow::bail!(
                            "{}:{}: op {op:?} is not supported by import (only upsert)",
                            path.display(),
                            number + 1,
                        ),
                    };
                    if !send(source, document) {
                        return Ok(());
                    }
                }
            }
        }
    }
    Ok(())
}

fn print_summary(summary: &ImportArticlesResponse) {
    println!(
        "created {}, updated {}, unchanged {}, failed {} (last revision {})",
        summary.created, summary.updated, summary.unchanged, summary.failed, summary.last_revision
    );
    for failure in &summary.failures {
        println!(
            "  #{} {}: {}",
            failure.index, failure.source, failure.reason
        );
    }
    let unlisted = summary.failed - summary.failures.len() as i64;
    if unlisted > 0 {
        println!("  … and {unlisted} more failures");
    }
}
