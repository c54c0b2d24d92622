//! The shared, read-only corpus of real documents beside the repository.

use std::path::PathBuf;

/// The feed folders of the corpus, each holding one document per file.
pub const FOLDERS: [&str; 3] = ["seed", "powerapps-news", "ai-news-sample"];
/// How many documents the folders hold together.
pub const DOCUMENT_COUNT: usize = 736;

/// One document of the corpus.
#[derive(Debug, Clone)]
pub struct CorpusDocument {
    /// The file name, which is the import source (and so the key's origin).
    pub source: String,
    pub text: String,
}

/// `../shared/corpus`, or `NEWSWIRE_CORPUS_DIR`. Panics with a clear message
/// when it is missing: tests never skip silently.
pub fn corpus_dir() -> PathBuf {
    let directory = std::env::var_os("NEWSWIRE_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus")));
    assert!(
        directory.is_dir(),
        "the corpus is missing at {}: clone the repository beside shared/ or set NEWSWIRE_CORPUS_DIR",
        directory.display()
    );
    directory
}

/// Every document of the corpus folders, sorted by folder then file name.
pub fn documents() -> Vec<CorpusDocument> {
    let root = corpus_dir();
    let mut documents = Vec::new();
    for folder in FOLDERS {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join(folder))
            .expect("corpus folder is readable")
            .map(|entry| entry.expect("corpus entry is readable").path())
            .collect();
        paths.sort();
        for path in paths {
            documents.push(CorpusDocument {
                source: path
                    .file_name()
                    .expect("a file name")
                    .to_string_lossy()
                    .to_string(),
                text: std::fs::read_to_string(&path).expect("corpus document is UTF-8"),
            });
        }
    }
    assert_eq!(documents.len(), DOCUMENT_COUNT, "the corpus changed size");
    documents
}

/// `powerapps-history.jsonl.gz`.
pub fn history_path() -> PathBuf {
    corpus_dir().join("powerapps-history.jsonl.gz")
}
