//! The data the checks store: the corpus as import items, the corpus with
//! deterministic variations (`dataset`), a small sample article, and a
//! loader.

use std::collections::HashSet;
use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use newswire::article::{Article, ArticleContent, ArticleKey};
use newswire::store::{Store, UpsertItem, UpsertOutcome};

/// The corpus documents as import items (key = file stem), in corpus order.
pub fn corpus_items() -> Vec<UpsertItem> {
    static ITEMS: OnceLock<Vec<UpsertItem>> = OnceLock::new();
    ITEMS
        .get_or_init(|| {
            let items: Vec<UpsertItem> = crate::support::corpus::documents()
                .iter()
                .map(|document| {
                    let content = newswire::document::parse(&document.source, &document.text)
                        .unwrap_or_else(|error| panic!("{}: {error}", document.source));
                    let key = ArticleKey::default_for(Some(&document.source), &content)
                        .expect("a corpus file name is a valid key");
                    UpsertItem { key, content }
                })
                .collect();
            let keys: HashSet<&ArticleKey> = items.iter().map(|item| &item.key).collect();
            assert_eq!(keys.len(), items.len(), "corpus keys are unique");
            items
        })
        .clone()
}

/// The corpus with deterministic variations, so that every filter, order
/// and tiebreak is exercised: missing values, equal sort values, two
/// articles within one microsecond, shared URLs, several topics, non-ASCII
/// words whose lower-casing or splitting a naive tokenizer gets wrong.
pub fn dataset() -> Vec<UpsertItem> {
    let mut items = corpus_items();
    let mut previous_time: Option<DateTime<Utc>> = None;
    for (index, item) in items.iter_mut().enumerate() {
        let content = &mut item.content;
        if index % 5 == 1 {
            content.category = Some("opinion".to_string());
        }
        if index % 13 == 2 {
            content.category = None;
        }
        if index % 7 == 3 {
            content.published = None;
        }
        if index % 11 == 4 {
            content.quality = None;
        }
        if index % 9 == 5 {
            content.heat = None;
        }
        if index % 17 == 6 {
            content.published_date_time += Duration::nanoseconds(123_456);
        }
        if let Some(previous) = previous_time {
            if index % 17 == 7 {
                // Same microsecond as the previous article, later nanosecond.
                content.published_date_time = previous + Duration::nanoseconds(333);
            }
            if index % 19 == 8 {
                // An exact tie: the id decides.
                content.published_date_time = previous;
            }
        }
        if index % 23 == 9 {
            content.kind = None;
        }
        if index % 29 == 10 {
            content.provider = None;
        }
        if index % 31 == 11 {
            content.topics.clear();
        }
        if index % 37 == 12 {
            content.topics.push("Opinion".to_string());
            content.topics.push("Opinion".to_string());
        }
        if index % 41 == 13 {
            content.title = format!("Café Straße ÆRØ İstanbul किताब — {}", content.title);
        }
        if index % 43 == 14 {
            content.amp_web_url = Some(format!("https://shared.example/{}", index % 3));
        }
        if index % 47 == 15 {
            content.excerpt = None;
        }
        if index % 53 == 16 {
            content.heat = Some(i32::MIN);
            content.quality = Some(i32::MAX);
        }
        previous_time = Some(content.published_date_time);
    }
    items
}

/// A small valid content, for checks that need few articles.
pub fn sample_content(title: &str, published: &str) -> ArticleContent {
    serde_json::from_value(serde_json::json!({
        "category": "news",
        "title": title,
        "excerpt": format!("An excerpt about {title}"),
        "publishedDateTime": published,
        "originalUrl": format!("https://example.org/{}", title.replace(' ', "-")),
        "type": "article",
        "quality": 50,
        "heat": 10,
        "published": true,
        "provider": { "name": "Example", "domain": "example.org" },
        "topics": ["Testing"],
        "someUnknownKey": { "kept": [1, 2.5, "three"] },
    }))
    .expect("sample content deserializes")
}

pub(super) fn key(text: &str) -> ArticleKey {
    ArticleKey::parse(text, "key").expect("a valid test key")
}

/// Stores every item in batches and returns the created articles.
pub(super) async fn load(store: &dyn Store, items: Vec<UpsertItem>) -> Vec<Article> {
    let mut articles = Vec::with_capacity(items.len());
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        let batch: Vec<UpsertItem> = items.by_ref().take(100).collect();
        for outcome in store.upsert_batch(batch).await.expect("the batch commits") {
            match outcome.expect("every dataset item is stored") {
                UpsertOutcome::Created(article) => articles.push(article),
                other => panic!("expected a created article, got {other:?}"),
            }
        }
    }
    articles
}
