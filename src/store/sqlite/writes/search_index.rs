//! The FTS5 search index (`article_search`), written last in a write's
//! transaction: FTS5 flushes its pending terms to disk at every savepoint,
//! so writing it inside each import item's savepoint would write (and later
//! merge) one tiny segment per item.

use rusqlite::{Connection, params};

use crate::article::ArticleContent;
use crate::error::Error;
use crate::store::sqlite::rows::SqliteContext;

/// The text the search index holds: the words `ArticleQuery::matches`
/// searches (`search_words` of the title and excerpt), separated by spaces.
pub(super) fn search_text(content: &ArticleContent) -> String {
    let excerpt = content.excerpt.as_deref().unwrap_or_default();
    let mut text = String::with_capacity(content.title.len() + excerpt.len() + 1);
    // `search_words` of the two joined by a space: the words of one, then
    // of the other.
    let words = [content.title.as_str(), excerpt]
        .into_iter()
        .flat_map(|source| {
            source
                .split(|character: char| !character.is_alphanumeric())
                .filter(|word| !word.is_empty())
        });
    for word in words {
        if !text.is_empty() {
            text.push(' ');
        }
        if word.is_ascii() {
            text.extend(
                word.bytes()
                    .map(|byte| char::from(byte.to_ascii_lowercase())),
            );
        } else {
            text.push_str(&word.to_lowercase());
        }
    }
    text
}

/// Search-index changes, in order, applied together (see the module
/// documentation for why they wait).
#[derive(Default)]
pub(super) struct SearchUpdates<'a> {
    /// An article's row id, and its new search text (`None`: remove it).
    changes: Vec<(i64, Option<&'a str>)>,
}

impl<'a> SearchUpdates<'a> {
    pub(super) fn insert(&mut self, seq: i64, search_text: &'a str) {
        self.changes.push((seq, Some(search_text)));
    }

    pub(super) fn remove(&mut self, seq: i64) {
        self.changes.push((seq, None));
    }

    pub(super) fn append(&mut self, other: SearchUpdates<'a>) {
        self.changes.extend(other.changes);
    }

    pub(super) fn apply(self, connection: &Connection) -> Result<(), Error> {
        if self.changes.is_empty() {
            return Ok(());
        }
        let mut insert = connection
            .prepare_cached("INSERT INTO article_search (rowid, words) VALUES (?1, ?2)")
            .context("preparing to update the search index")?;
        let mut remove = connection
            .prepare_cached("DELETE FROM article_search WHERE rowid = ?1")
            .context("preparing to update the search index")?;
        for (seq, text) in self.changes {
            match text {
                Some(text) => insert.execute(params![seq, text]),
                None => remove.execute([seq]),
            }
            .context("updating the search index")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::search_words;

    #[test]
    fn the_search_text_is_the_searched_words() {
        for (title, excerpt) in [
            (
                "Power Apps: 2019 wave",
                Some("ΣΟΦΟΣ says — Ünïcödé, 日本語 & AI-ML"),
            ),
            ("", None),
            ("  ", Some("")),
            ("ΌΣΟΣ", None),
        ] {
            let mut content: ArticleContent = serde_json::from_value(serde_json::json!({
                "title": title,
                "publishedDateTime": "2024-01-01T00:00:00Z",
            }))
            .expect("test content deserializes");
            content.excerpt = excerpt.map(str::to_string);
            let haystack = format!("{title} {}", excerpt.unwrap_or_default());
            assert_eq!(search_text(&content), search_words(&haystack).join(" "));
        }
    }
}
