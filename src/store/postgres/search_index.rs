//! The search index: the words an article's `search_words` tsvector holds,
//! and the `tsquery` a search asks. Both come from `query::search_words`,
//! so PostgreSQL's own text parser never decides what a word is.

use super::schema::MAX_LEXEME_BYTES;
use crate::article::ArticleContent;
use crate::query::search_words;

/// The words `ArticleQuery::matches` searches, distinct, each cut to
/// `MAX_LEXEME_BYTES` (see `schema` for why that changes no match).
pub(super) fn stored_search_words(content: &ArticleContent) -> Vec<String> {
    let haystack = format!(
        "{} {}",
        content.title,
        content.excerpt.as_deref().unwrap_or_default()
    );
    let mut words: Vec<String> = search_words(&haystack)
        .into_iter()
        .map(|mut word| {
            if word.len() > MAX_LEXEME_BYTES {
                let mut end = MAX_LEXEME_BYTES;
                while !word.is_char_boundary(end) {
                    end -= 1;
                }
                word.truncate(end);
            }
            word
        })
        .collect();
    words.sort_unstable();
    words.dedup();
    words
}

/// The `tsquery` for `text`: every word a quoted prefix term, all
/// required. `None` when the text has no word (then it filters nothing, as
/// in `ArticleQuery::matches`). Words hold only letters and digits; quotes
/// and backslashes are escaped all the same.
pub(super) fn search_query(text: &str) -> Option<String> {
    let words = search_words(text);
    if words.is_empty() {
        return None;
    }
    let terms: Vec<String> = words
        .iter()
        .map(|word| format!("'{}':*", word.replace('\\', "\\\\").replace('\'', "''")))
        .collect();
    Some(terms.join(" & "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_query_quotes_each_word_as_a_prefix() {
        assert_eq!(
            search_query("Power-Apps, ÉTÉ 2020").as_deref(),
            Some("'power':* & 'apps':* & 'été':* & '2020':*")
        );
        assert_eq!(search_query(" -- "), None);
    }

    #[test]
    fn stored_words_are_distinct_and_long_ones_are_cut_on_a_character_boundary() {
        let long_word = "é".repeat(MAX_LEXEME_BYTES);
        let content: ArticleContent = serde_json::from_value(serde_json::json!({
            "title": format!("Power apps power {long_word}"),
            "excerpt": "Apps",
            "publishedDateTime": "2024-01-01T00:00:00Z",
        }))
        .expect("test content");
        let words = stored_search_words(&content);
        let cut = "é".repeat(MAX_LEXEME_BYTES / 2);
        assert_eq!(words, vec!["apps".to_string(), "power".to_string(), cut]);
    }
}
