//! `newswire generate`: a run of synthetic articles written as a history
//! file (one JSON upsert per line, the form of `powerapps-history.jsonl`),
//! which `newswire import` reads.

use std::io::Write;
use std::ops::Range;

use anyhow::Context;
use serde::Serialize;

use super::{CorpusModel, Generator};
use crate::config::GenerateConfig;
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

/// Learns the corpus, then writes `config.count` articles to
/// `config.out` (or stdout).
pub fn run(config: GenerateConfig) -> anyhow::Result<()> {
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

/// Writes articles `indexes` as history lines, in order. Blocks of
/// articles are rendered on every core at once; each article depends only
/// on its index, so the output is the same whatever the core count.
pub fn write_history(
    generator: &Generator,
    indexes: Range<u64>,
    output: &mut impl Write,
) -> anyhow::Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from) as u64;
    let mut next = indexes.start;
    while next < indexes.end {
        let wave: Vec<Range<u64>> = (0..threads)
            .map(|thread| {
                let start = (next + thread * BLOCK).min(indexes.end);
                start..(start + BLOCK).min(indexes.end)
            })
            .filter(|block| !block.is_empty())
            .collect();
        next = wave.last().map_or(indexes.end, |block| block.end);
        let rendered: Vec<anyhow::Result<Vec<u8>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = wave
                .iter()
                .map(|block| scope.spawn(|| render_block(generator, block.clone())))
                .collect();
            handles
                .into_iter()
                .map(|handle| {
                    handle
                        .join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("a generating thread panicked")))
                })
                .collect()
        });
        for block in rendered {
            output.write_all(&block?)?;
        }
    }
    Ok(())
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
