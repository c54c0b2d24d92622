//! `newswire generate`: a run of synthetic articles written as a history
//! file (one JSON upsert per line, the form of `powerapps-history.jsonl`),
//! which `newswire import` reads.

use std::io::Write;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::mpsc;

use anyhow::Context;
use serde::Serialize;

use super::{CorpusModel, Generator};
use crate::document;

/// Articles one thread renders before the threads' output is written in
/// order: large enough to keep threads busy, small enough to bound memory.
const BLOCK: u64 = 2048;

/// One line of a history file.
#[derive(Serialize)]
struct HistoryLine<'a> {
    path: &'a str,
    op: &'a str,
    document: &'a str,
}

/// What one `generate` run writes.
#[derive(Debug, Clone)]
pub struct HistoryRun {
    /// Directory of real documents whose distributions the articles follow.
    pub corpus: PathBuf,
    /// The same seed and corpus give the same articles.
    pub seed: u64,
    /// How many articles.
    pub count: u64,
    /// File to write; standard output if absent.
    pub out: Option<PathBuf>,
}

/// Learns the corpus, then writes `config.count` articles to
/// `config.out` (or stdout).
pub fn run(config: HistoryRun) -> anyhow::Result<()> {
    let model = CorpusModel::from_directory(&config.corpus)
        .with_context(|| format!("learning from the corpus {}", config.corpus.display()))?;
    let generator = Generator::new(model, config.seed);
    let started = std::time::Instant::now();
    match &config.out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let mut output = std::io::BufWriter::with_capacity(1 << 20, file);
            write_history(&generator, 0..config.count, &mut output)?;
            output.flush()?;
            tracing::info!(
                count = config.count,
                seed = config.seed,
                seconds = started.elapsed().as_secs_f64(),
                out = %path.display(),
                "generated synthetic articles"
            );
        }
        None => {
            let mut output = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            write_history(&generator, 0..config.count, &mut output)?;
            output.flush()?;
        }
    }
    Ok(())
}

/// Writes articles `indexes` as history lines, in order. One renderer
/// per core takes every n-th block of articles while this thread writes
/// the finished blocks in order, so rendering and writing overlap. Each
/// article depends only on its index: the output is the same whatever the
/// core count.
pub fn write_history(
    generator: &Generator,
    indexes: Range<u64>,
    output: &mut impl Write,
) -> anyhow::Result<()> {
    let renderers = std::thread::available_parallelism().map_or(1, usize::from);
    let blocks: Vec<Range<u64>> = (indexes.start..indexes.end)
        .step_by(BLOCK as usize)
        .map(|start| start..(start + BLOCK).min(indexes.end))
        .collect();
    std::thread::scope(|scope| {
        let receivers: Vec<mpsc::Receiver<anyhow::Result<Vec<u8>>>> = (0..renderers)
            .map(|renderer| {
                // Two finished blocks ahead at most: bounded memory.
                let (sender, receiver) = mpsc::sync_channel(2);
                let blocks = &blocks;
                scope.spawn(move || {
                    for block in blocks.iter().skip(renderer).step_by(renderers) {
                        // A closed channel means the writer stopped on an error.
                        if sender.send(render_block(generator, block.clone())).is_err() {
                            return;
                        }
                    }
                });
                receiver
            })
            .collect();
        for number in 0..blocks.len() {
            let block = receivers[number % renderers]
                .recv()
                .map_err(|_| anyhow::anyhow!("a rendering thread stopped early"))??;
            output.write_all(&block)?;
        }
        anyhow::Ok(())
    })
}

/// Articles `block` as history lines.
fn render_block(generator: &Generator, block: Range<u64>) -> anyhow::Result<Vec<u8>> {
    let mut lines = Vec::with_capacity(block.clone().count() * 2048);
    for index in block {
        let article = generator.article(index)?;
        let line = HistoryLine {
            path: &article.source(),
            op: "upsert",
            document: &document::render(&article.content),
        };
        serde_json::to_writer(&mut lines, &line)?;
        lines.push(b'\n');
    }
    Ok(lines)
}
