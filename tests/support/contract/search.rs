//! Free-text search against the reference.

use newswire::query::ArticleQuery;

use super::ContractDatabase;
use super::data::{dataset, load};
use super::reference::check_queries;

/// Free-text queries: every word a prefix of a title or excerpt word,
/// case-insensitively, non-ASCII included.
pub async fn text_search_matches_the_reference(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let articles = load(store.as_ref(), dataset()).await;
    let texts = [
        "power",
        "Power Apps",
        "POWER-APPS wave",
        "po",
        "wave 2",
        "2020",
        "microsoft overview release",
        "caf",
        "CAFÉ",
        "cafe",
        "straß",
        "ærø",
        "İstan",
        "istanbul",
        // Devanagari vowel signs are letters to Rust but not to SQLite's
        // unicode61 tokenizer, which would find "ताब" inside "किताब".
        "किता",
        "ताब",
        "zzzz-no-such-word",
        "apps power",
        "the",
        "a",
    ];
    let mut queries: Vec<(String, ArticleQuery)> = texts
        .iter()
        .map(|text| {
            (
                format!("text {text:?}"),
                ArticleQuery {
                    text: Some(text.to_string()),
                    ..ArticleQuery::default()
                },
            )
        })
        .collect();
    // Whole first words of a few titles.
    for article in articles.iter().step_by(97) {
        let word = newswire::query::search_words(&article.content.title)
            .into_iter()
            .next()
            .expect("a title has a word");
        queries.push((
            format!("text {word:?} (a title's first word)"),
            ArticleQuery {
                text: Some(word),
                ..ArticleQuery::default()
            },
        ));
    }
    queries.push((
        "text and kind".to_string(),
        ArticleQuery {
            text: Some("power".to_string()),
            kind: Some("video".to_string()),
            ..ArticleQuery::default()
        },
    ));
    check_queries(store.as_ref(), &articles, &queries).await;
}
