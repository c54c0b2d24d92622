//! `powerapps-history.jsonl.gz`: 6,956 real upserts of the feed, in order,
//! and what replaying them through ImportArticles must do, computed here
//! from the file alone.

use std::collections::HashMap;
use std::io::BufRead;

use newswire::article::ArticleContent;
use newswire::proto::ImportArticlesRequest;
use newswire::proto::import_articles_request::Item;

use super::corpus;

/// One line of the history: where the document lives, and its text.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: String,
    pub document: String,
}

impl Entry {
    /// The article key ImportArticles gives it: the file name without its
    /// directories and extension.
    pub fn key(&self) -> String {
        let name = self.path.rsplit('/').next().unwrap_or(&self.path);
        name.rsplit_once('.')
            .map_or(name, |(stem, _)| stem)
            .to_string()
    }
}

/// Every entry, in order.
pub fn entries() -> Vec<Entry> {
    let file = std::fs::File::open(corpus::history_path()).expect("the history file");
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(file));
    reader
        .lines()
        .map(|line| {
            let value: serde_json::Value =
                serde_json::from_str(&line.expect("a line")).expect("a JSON line");
            assert_eq!(value["op"], "upsert", "the history only upserts");
            Entry {
                path: value["path"].as_str().expect("a path").to_string(),
                document: value["document"].as_str().expect("a document").to_string(),
            }
        })
        .collect()
}

/// The entries as an import stream, source = path.
pub fn import_requests(entries: &[Entry]) -> Vec<ImportArticlesRequest> {
    entries
        .iter()
        .map(|entry| ImportArticlesRequest {
            source: entry.path.clone(),
            item: Some(Item::Document(entry.document.clone())),
        })
        .collect()
}

/// A change the replay must commit: the key, whether it creates the
/// article, its content before (for an update) and after.
#[derive(Debug, Clone)]
pub struct ExpectedChange {
    pub key: String,
    pub created: bool,
    pub before: Option<ArticleContent>,
    pub after: ArticleContent,
}

/// The changes a replay into an empty store commits, in order: an entry
/// equal to its key's current version commits nothing. Also returns the
/// last version of every key.
pub fn expected_changes(
    entries: &[Entry],
) -> (Vec<ExpectedChange>, HashMap<String, ArticleContent>) {
    let mut current: HashMap<String, ArticleContent> = HashMap::new();
    let mut changes = Vec::new();
    for entry in entries {
        let key = entry.key();
        let content = newswire::document::parse(&entry.path, &entry.document)
            .expect("every history document parses");
        let before = current.get(&key).cloned();
        if before.as_ref() == Some(&content) {
            continue;
        }
        changes.push(ExpectedChange {
            key: key.clone(),
            created: before.is_none(),
            before,
            after: content.clone(),
        });
        current.insert(key, content);
    }
    (changes, current)
}
