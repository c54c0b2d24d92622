//! The files a list of paths names, as `newswire import` reads them and
//! `generate` learns from them: document files, and history files of
//! changes. Shared by the client commands and the synthetic model, so
//! neither reaches into the other.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Where import items come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// One document file.
    Document(PathBuf),
    /// A history file: one JSON change per line, possibly gzipped.
    History(PathBuf),
}

/// The inputs below `paths`: directories are walked (hidden entries
/// skipped), files ending in `.jsonl` or `.jsonl.gz` are histories.
pub fn collect_inputs(paths: &[PathBuf]) -> anyhow::Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for path in paths {
        let metadata =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if metadata.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot list {}", path.display()))?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|entry| {
                    !entry
                        .file_name()
                        .is_some_and(|name| name.to_string_lossy().starts_with('.'))
                })
                .collect();
            entries.sort();
            inputs.extend(collect_inputs(&entries)?);
        } else if is_history(path) {
            inputs.push(Input::History(path.clone()));
        } else {
            inputs.push(Input::Document(path.clone()));
        }
    }
    Ok(inputs)
}

fn is_history(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().to_string())
        .unwrap_or_default();
    name.ends_with(".jsonl") || name.ends_with(".jsonl.gz")
}
