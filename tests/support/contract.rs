//! The store contract (see `src/store.rs`) as checks that every `Store`
//! implementation must pass, written once and run against each.
//!
//! A backend's test crate implements `ContractDatabase` (a fresh, empty
//! database per test that can be opened more than once) and registers every
//! check with `store_contract_tests!`; each check becomes its own
//! `#[tokio::test]` with its own database:
//!
//! ```ignore
//! mod support;
//! use support::contract; // or `#[path = "support/contract.rs"] mod contract;`
//! contract::store_contract_tests!(MyDatabase::create());
//! ```
//!
//! Data is realistic: the shared corpus of feed documents, with a few
//! deterministic variations (missing values, ties, sub-microsecond times,
//! shared URLs, non-ASCII words) so that every filter, order and tiebreak
//! has something to get wrong. Lists are checked against an independent
//! computation: `ArticleQuery::matches` and a sort by (sort value, id).
//!
//! Beyond `src/store.rs`, the checks hold stores to one more invariant: a
//! stored article always passes `ArticleContent::validate`, so an invalid
//! item is how an import batch gets a failing item.
// A test crate that includes this module without registering the checks
// (or with only some helpers in use) must still build warning-free.
#![allow(dead_code, unused_imports, unused_macros)]

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Duration, Utc};
use newswire::article::{
    Article, ArticleContent, ArticleId, ArticleKey, ArticlePatch, ContentField, Etag, Lookup,
    Revision,
};
use newswire::error::Error;
use newswire::query::{ArticleQuery, Cursor, Direction, Order, PageRequest, PageSize, SortField};
use newswire::store::{ChangeKind, Retention, Store, UpsertItem, UpsertOutcome};

/// A fresh database for one check, owned by the backend's test crate.
#[async_trait::async_trait]
pub trait ContractDatabase: Send + Sync {
    /// Opens a store on this database. Every call opens the same data: a
    /// second call after dropping the first store is a restart.
    async fn open_store(&self) -> Arc<dyn Store>;
}

/// Registers every check as a `#[tokio::test]`. `$new_database` is an
/// expression giving a future of a fresh `ContractDatabase`; it is
/// evaluated once per test. The invoking module must have this module in
/// scope as `contract`.
macro_rules! store_contract_tests {
    ($new_database:expr) => {
        contract::store_contract_test!($new_database, create_then_get_by_id_key_and_url);
        contract::store_contract_test!($new_database, create_with_a_taken_key_is_already_exists);
        contract::store_contract_test!($new_database, invalid_content_is_never_stored);
        contract::store_contract_test!($new_database, get_many_keeps_order_and_marks_missing);
        contract::store_contract_test!($new_database, update_applies_only_the_masked_fields);
        contract::store_contract_test!($new_database, update_renames_the_key);
        contract::store_contract_test!($new_database, update_with_a_stale_etag_is_etag_mismatch);
        contract::store_contract_test!($new_database, update_that_changes_nothing_writes_nothing);
        contract::store_contract_test!(
            $new_database,
            update_renaming_to_a_taken_key_is_already_exists
        );
        contract::store_contract_test!($new_database, writes_need_an_existing_id_or_key);
        contract::store_contract_test!(
            $new_database,
            delete_honours_the_etag_and_removes_all_trace
        );
        contract::store_contract_test!(
            $new_database,
            revisions_increase_with_one_change_per_committed_write
        );
        contract::store_contract_test!($new_database, upsert_batch_creates_updates_and_skips);
        contract::store_contract_test!($new_database, a_failed_batch_item_leaves_nothing_behind);
        contract::store_contract_test!($new_database, url_shared_by_two_articles);
        contract::store_contract_test!($new_database, every_order_pages_through_all_rows);
        contract::store_contract_test!($new_database, page_boundaries_are_exact);
        contract::store_contract_test!($new_database, filters_match_the_reference);
        contract::store_contract_test!($new_database, text_search_matches_the_reference);
        contract::store_contract_test!(
            $new_database,
            pagination_survives_concurrent_inserts_and_deletes
        );
        contract::store_contract_test!($new_database, reopening_keeps_everything);
        contract::store_contract_test!($new_database, updates_log_the_content_before_them);
        contract::store_contract_test!($new_database, compaction_keeps_what_the_retention_says);
    };
}
pub(crate) use store_contract_tests;

/// One check as one test with its own database.
macro_rules! store_contract_test {
    ($new_database:expr, $check:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $check() {
            let database = $new_database.await;
            contract::$check(&database).await;
        }
    };
}
pub(crate) use store_contract_test;

// ---------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------

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

fn key(text: &str) -> ArticleKey {
    ArticleKey::parse(text, "key").expect("a valid test key")
}

/// Stores every item in batches and returns the created articles.
async fn load(store: &dyn Store, items: Vec<UpsertItem>) -> Vec<Article> {
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

// ---------------------------------------------------------------------------
// Reference semantics
// ---------------------------------------------------------------------------

/// `articles` as a list must return them: matching, in the total order.
fn reference(articles: &[Article], query: &ArticleQuery, order: Order) -> Vec<Article> {
    let mut matching: Vec<Article> = articles
        .iter()
        .filter(|article| query.matches(article))
        .cloned()
        .collect();
    matching.sort_by(|left, right| compare_in_order(left, right, order));
    matching
}

fn compare_in_order(left: &Article, right: &Article, order: Order) -> std::cmp::Ordering {
    let position = |article: &Article| (article.content.sort_value(order.field), article.id);
    match order.direction {
        Direction::Ascending => position(left).cmp(&position(right)),
        Direction::Descending => position(right).cmp(&position(left)),
    }
}

/// Every order the API offers.
fn all_orders() -> Vec<Order> {
    let mut orders = Vec::new();
    for field in [
        SortField::PublishedDateTime,
        SortField::Heat,
        SortField::Quality,
    ] {
        for direction in [Direction::Descending, Direction::Ascending] {
            orders.push(Order { field, direction });
        }
    }
    orders
}

fn page_request(
    query: &ArticleQuery,
    order: Order,
    size: i32,
    after: Option<Cursor>,
) -> PageRequest {
    PageRequest {
        query: query.clone(),
        order,
        size: PageSize::parse(size).expect("a valid page size"),
        after,
    }
}

/// Follows `next` through every page, checking each page's shape: full
/// unless last, and `next` the cursor of its last row.
async fn all_pages(
    store: &dyn Store,
    query: &ArticleQuery,
    order: Order,
    size: i32,
) -> Vec<Article> {
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list(&page_request(query, order, size, after))
            .await
            .expect("list succeeds");
        assert!(page.articles.len() <= size as usize, "a page over its size");
        let Some(next) = page.next else {
            rows.extend(page.articles);
            return rows;
        };
        assert_eq!(
            page.articles.len(),
            size as usize,
            "a page followed by another must be full"
        );
        let last = page.articles.last().expect("a full page has a last row");
        assert_eq!(next, order.cursor_of(last), "next is the last row's cursor");
        rows.extend(page.articles);
        after = Some(next);
        assert!(rows.len() <= 1_000_000, "pagination does not end");
    }
}

/// Compares ids first, for a readable failure, then whole articles.
fn assert_same_articles(actual: &[Article], expected: &[Article], what: &str) {
    let ids = |articles: &[Article]| -> Vec<String> {
        articles
            .iter()
            .map(|article| format!("{} ({})", article.key, article.id))
            .collect()
    };
    assert_eq!(
        ids(actual),
        ids(expected),
        "{what}: rows or their order differ"
    );
    assert!(
        actual == expected,
        "{what}: same rows but different content"
    );
}

fn expect_error<T: std::fmt::Debug>(result: Result<T, Error>, what: &str) -> Error {
    match result {
        Ok(value) => panic!("{what}: expected an error, got {value:?}"),
        Err(error) => error,
    }
}

async fn change_count(store: &dyn Store) -> usize {
    store
        .changes_since(Revision(0), 1_000_000)
        .await
        .expect("changes_since succeeds")
        .len()
}

// ---------------------------------------------------------------------------
// Single articles
// ---------------------------------------------------------------------------

/// A created article comes back, equal, by id, by key and by each URL.
pub async fn create_then_get_by_id_key_and_url(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    assert_eq!(
        store.current_revision().await.expect("revision"),
        Revision(0)
    );
    let item = corpus_items()
        .into_iter()
        .find(|item| item.content.urls().len() >= 2)
        .expect("a corpus article with several URLs");
    let created = store
        .create(item.key.clone(), item.content.clone())
        .await
        .expect("create succeeds");
    assert_eq!(created.key, item.key);
    assert_eq!(created.content, item.content);
    assert_eq!(created.etag, item.content.etag(&item.key));
    assert!(created.revision > Revision(0));
    assert_eq!(created.create_time, created.update_time);
    assert_eq!(
        store.current_revision().await.expect("revision"),
        created.revision
    );

    let mut lookups = vec![Lookup::Id(created.id), Lookup::Key(item.key.clone())];
    lookups.extend(
        item.content
            .urls()
            .into_iter()
            .map(|url| Lookup::Url(url.to_string())),
    );
    for lookup in &lookups {
        let found = store.get(lookup).await.expect("get succeeds");
        assert_eq!(found.as_ref(), Some(&created), "get by {lookup}");
        let shared = store.get_shared(lookup).await.expect("get_shared succeeds");
        assert_eq!(shared.as_deref(), Some(&created), "get_shared by {lookup}");
    }
    for missing in [
        Lookup::Id(ArticleId::generate()),
        Lookup::Key(key("no-such-key")),
        Lookup::Url("https://nowhere.example/".to_string()),
    ] {
        assert_eq!(store.get(&missing).await.expect("get succeeds"), None);
        assert_eq!(store.get_shared(&missing).await.expect("get_shared"), None);
    }
}

/// Keys are unique: a second create under a key fails and writes nothing.
pub async fn create_with_a_taken_key_is_already_exists(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let first = store
        .create(
            key("taken"),
            sample_content("first", "2024-01-01T00:00:00Z"),
        )
        .await
        .expect("create succeeds");
    let error = expect_error(
        store
            .create(
                key("taken"),
                sample_content("second", "2024-01-02T00:00:00Z"),
            )
            .await,
        "create under a taken key",
    );
    assert!(
        matches!(&error, Error::AlreadyExists(taken) if taken == "taken"),
        "{error:?}"
    );
    assert_eq!(
        store.get(&Lookup::Key(key("taken"))).await.expect("get"),
        Some(first.clone())
    );
    assert_eq!(
        store.current_revision().await.expect("revision"),
        first.revision
    );
    assert_eq!(change_count(store.as_ref()).await, 1);
}

/// Content that fails validation is refused by create and by an import,
/// and nothing of it is stored.
pub async fn invalid_content_is_never_stored(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let invalid = sample_content("   ", "2024-01-01T00:00:00Z");
    let error = expect_error(
        store.create(key("invalid"), invalid.clone()).await,
        "create with an empty title",
    );
    assert!(matches!(error, Error::InvalidArgument(_)), "{error:?}");
    let outcomes = store
        .upsert_batch(vec![UpsertItem {
            key: key("invalid"),
            content: invalid,
        }])
        .await
        .expect("the batch commits");
    assert!(
        matches!(outcomes.as_slice(), [Err(Error::InvalidArgument(_))]),
        "{outcomes:?}"
    );
    assert_eq!(
        store.get(&Lookup::Key(key("invalid"))).await.expect("get"),
        None
    );
    assert_eq!(
        store.current_revision().await.expect("revision"),
        Revision(0)
    );
    assert_eq!(change_count(store.as_ref()).await, 0);
}

/// `get_many` answers in the order asked, `None` where nothing matches,
/// repeating an article asked for twice.
pub async fn get_many_keeps_order_and_marks_missing(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let articles = load(store.as_ref(), corpus_items().into_iter().take(3).collect()).await;
    let [first, second, third] = [&articles[0], &articles[1], &articles[2]];
    let third_url = third.content.urls()[0].to_string();
    let lookups = vec![
        Lookup::Key(second.key.clone()),
        Lookup::Id(first.id),
        Lookup::Key(key("missing")),
        Lookup::Url(third_url),
        Lookup::Id(ArticleId::generate()),
        Lookup::Key(second.key.clone()),
    ];
    let found = store.get_many(&lookups).await.expect("get_many succeeds");
    assert_eq!(
        found,
        vec![
            Some(second.clone()),
            Some(first.clone()),
            None,
            Some(third.clone()),
            None,
            Some(second.clone()),
        ]
    );
    assert!(store.get_many(&[]).await.expect("get_many").is_empty());
}

// ---------------------------------------------------------------------------
// Updates and deletes
// ---------------------------------------------------------------------------

/// Only the fields named in the mask change; the server fields move on.
pub async fn update_applies_only_the_masked_fields(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let created = store
        .create(
            key("masked"),
            sample_content("original", "2024-01-01T00:00:00Z"),
        )
        .await
        .expect("create");
    // Read first, so a cache holds the article the update replaces.
    let before = store.get_shared(&Lookup::Id(created.id)).await;
    assert_eq!(before.expect("get_shared").as_deref(), Some(&created));
    let mut source = sample_content("replacement", "2030-06-01T00:00:00Z");
    source.heat = None;
    source.body = "a new body\n".to_string();
    source.category = Some("never-applied".to_string());
    let patch = ArticlePatch {
        fields: vec![ContentField::Title, ContentField::Heat, ContentField::Body],
        key: None,
        source: source.clone(),
    };
    let updated = store
        .update(&Lookup::Id(created.id), &patch, Some(&created.etag))
        .await
        .expect("update succeeds");

    let mut expected_content = created.content.clone();
    expected_content.title = source.title.clone();
    expected_content.heat = None;
    expected_content.body = source.body.clone();
    assert_eq!(updated.content, expected_content);
    assert_eq!(updated.id, created.id);
    assert_eq!(updated.key, created.key);
    assert_eq!(updated.create_time, created.create_time);
    assert!(updated.update_time >= created.update_time);
    assert!(updated.revision > created.revision);
    assert_eq!(updated.etag, expected_content.etag(&created.key));
    assert_ne!(updated.etag, created.etag);
    assert_eq!(
        store.get(&Lookup::Id(created.id)).await.expect("get"),
        Some(updated.clone())
    );
    assert_eq!(
        store
            .get_shared(&Lookup::Id(created.id))
            .await
            .expect("get_shared")
            .as_deref(),
        Some(&updated)
    );

    // By key too, and a heat filter now leaves it out.
    let again = store
        .update(
            &Lookup::Key(created.key.clone()),
            &ArticlePatch {
                fields: vec![ContentField::Category],
                key: None,
                source,
            },
            None,
        )
        .await
        .expect("update by key succeeds");
    assert_eq!(again.content.category.as_deref(), Some("never-applied"));
    let query = ArticleQuery {
        min_heat: Some(i32::MIN),
        ..ArticleQuery::default()
    };
    let page = store
        .list(&page_request(&query, Order::default(), 10, None))
        .await
        .expect("list");
    assert!(
        page.articles.is_empty(),
        "an article without heat matched a heat bound"
    );
}

/// A patch naming `key` renames the article; the old key is free again.
pub async fn update_renames_the_key(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let created = store
        .create(
            key("old-name"),
            sample_content("renamed", "2024-01-01T00:00:00Z"),
        )
        .await
        .expect("create");
    let renamed = store
        .update(
            &Lookup::Key(key("old-name")),
            &ArticlePatch {
                fields: vec![ContentField::Key],
                key: Some(key("new-name")),
                source: created.content.clone(),
            },
            Some(&created.etag),
        )
        .await
        .expect("rename succeeds");
    assert_eq!(renamed.key, key("new-name"));
    assert_eq!(renamed.id, created.id);
    assert_eq!(renamed.content, created.content);
    assert_eq!(renamed.etag, created.content.etag(&key("new-name")));
    assert!(renamed.revision > created.revision);
    assert_eq!(
        store.get(&Lookup::Key(key("old-name"))).await.expect("get"),
        None
    );
    assert_eq!(
        store.get(&Lookup::Key(key("new-name"))).await.expect("get"),
        Some(renamed)
    );
    store
        .create(
            key("old-name"),
            sample_content("reused", "2024-01-01T00:00:00Z"),
        )
        .await
        .expect("the old key is free");
}

/// A stale etag fails the update and writes nothing.
pub async fn update_with_a_stale_etag_is_etag_mismatch(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let created = store
        .create(
            key("guarded"),
            sample_content("guarded", "2024-01-01T00:00:00Z"),
        )
        .await
        .expect("create");
    let patch = ArticlePatch {
        fields: vec![ContentField::Title],
        key: None,
        source: sample_content("changed", "2024-01-01T00:00:00Z"),
    };
    let stale = Etag("not-the-etag".to_string());
    let error = expect_error(
        store
            .update(&Lookup::Id(created.id), &patch, Some(&stale))
            .await,
        "update with a stale etag",
    );
    match error {
        Error::EtagMismatch { expected, actual } => {
            assert_eq!(expected, stale.0);
            assert_eq!(actual, created.etag.0);
        }
        other => panic!("expected EtagMismatch, got {other:?}"),
    }
    assert_eq!(
        store.get(&Lookup::Id(created.id)).await.expect("get"),
        Some(created.clone())
    );
    assert_eq!(
        store.current_revision().await.expect("revision"),
        created.revision
    );
    let updated = store
        .update(&Lookup::Id(created.id), &patch, Some(&created.etag))
        .await
        .expect("the current etag passes");
    assert_eq!(updated.content.title, "changed");
    // The etag it was checked against is now stale itself.
    let error = expect_error(
        store
            .update(&Lookup::Id(created.id), &patch, Some(&created.etag))
            .await,
        "update with the previous etag",
    );
    assert!(matches!(error, Error::EtagMismatch { .. }), "{error:?}");
}

/// A patch that changes nothing returns the article as it is, takes no
/// revision and logs nothing; an invalid patch is refused the same way.
pub async fn update_that_changes_nothing_writes_nothing(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let created = store
        .create(
            key("steady"),
            sample_content("steady", "2024-01-01T00:00:00Z"),
        )
        .await
        .expect("create");
    for fields in [vec![], vec![ContentField::Title, ContentField::Topics]] {
        let unchanged = store
            .update(
                &Lookup::Id(created.id),
                &ArticlePatch {
                    fields,
                    key: None,
                    source: created.content.clone(),
                },
                Some(&created.etag),
            )
            .await
            .expect("a no-op update succeeds");
        assert_eq!(unchanged, created);
    }
    let error = expect_error(
        store
            .update(
                &Lookup::Id(created.id),
                &ArticlePatch {
                    fields: vec![ContentField::Title],
                    key: None,
                    source: sample_content("", "2024-01-01T00:00:00Z"),
                },
                None,
            )
            .await,
        "update to an empty title",
    );
    assert!(matches!(error, Error::InvalidArgument(_)), "{error:?}");
    assert_eq!(
        store.current_revision().await.expect("revision"),
        created.revision
    );
    assert_eq!(change_count(store.as_ref()).await, 1);
    assert_eq!(
        store.get(&Lookup::Id(created.id)).await.expect("get"),
        Some(created)
    );
}

/// Renaming onto another article's key fails and changes neither.
pub async fn update_renaming_to_a_taken_key_is_already_exists(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let first = store
        .create(
            key("first"),
            sample_content("first", "2024-01-01T00:00:00Z"),
        )
        .await
        .expect("create");
    let second = store
        .create(
            key("second"),
            sample_content("second", "2024-01-02T00:00:00Z"),
        )
        .await
        .expect("create");
    let error = expect_error(
        store
            .update(
                &Lookup::Id(second.id),
                &ArticlePatch {
                    fields: vec![ContentField::Key, ContentField::Title],
                    key: Some(key("first")),
                    source: sample_content("stolen", "2024-01-01T00:00:00Z"),
                },
                Some(&second.etag),
            )
            .await,
        "rename onto a taken key",
    );
    assert!(
        matches!(&error, Error::AlreadyExists(taken) if taken == "first"),
        "{error:?}"
    );
    assert_eq!(
        store
            .get_many(&[Lookup::Id(first.id), Lookup::Id(second.id)])
            .await
            .expect("get_many"),
        vec![Some(first), Some(second.clone())]
    );
    assert_eq!(
        store.current_revision().await.expect("revision"),
        second.revision
    );
}

/// Writes name an existing article by id or key; a URL may name several.
pub async fn writes_need_an_existing_id_or_key(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let created = store
        .create(
            key("present"),
            sample_content("present", "2024-01-01T00:00:00Z"),
        )
        .await
        .expect("create");
    let patch = ArticlePatch {
        fields: vec![ContentField::Title],
        key: None,
        source: sample_content("other", "2024-01-01T00:00:00Z"),
    };
    for missing in [
        Lookup::Id(ArticleId::generate()),
        Lookup::Key(key("absent")),
    ] {
        let error = expect_error(store.update(&missing, &patch, None).await, "update missing");
        assert!(matches!(error, Error::NotFound(_)), "{error:?}");
        let error = expect_error(store.delete(&missing, None).await, "delete missing");
        assert!(matches!(error, Error::NotFound(_)), "{error:?}");
    }
    let by_url = Lookup::Url(created.content.urls()[0].to_string());
    let error = expect_error(store.update(&by_url, &patch, None).await, "update by URL");
    assert!(matches!(error, Error::InvalidArgument(_)), "{error:?}");
    let error = expect_error(store.delete(&by_url, None).await, "delete by URL");
    assert!(matches!(error, Error::InvalidArgument(_)), "{error:?}");
    assert_eq!(
        store.current_revision().await.expect("revision"),
        created.revision
    );
}

/// A delete checks the etag, takes a revision, and leaves no way to find
/// the article; ids are never reused.
pub async fn delete_honours_the_etag_and_removes_all_trace(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let created = store
        .create(
            key("doomed"),
            sample_content("doomed", "2024-01-01T00:00:00Z"),
        )
        .await
        .expect("create");
    let error = expect_error(
        store
            .delete(
                &Lookup::Key(key("doomed")),
                Some(&Etag("stale".to_string())),
            )
            .await,
        "delete with a stale etag",
    );
    assert!(matches!(error, Error::EtagMismatch { .. }), "{error:?}");
    assert!(
        store
            .get(&Lookup::Id(created.id))
            .await
            .expect("get")
            .is_some()
    );

    let deleted = store
        .delete(&Lookup::Key(key("doomed")), Some(&created.etag))
        .await
        .expect("delete succeeds");
    assert_eq!(deleted.id, created.id);
    assert_eq!(deleted.key, created.key);
    assert!(deleted.revision > created.revision);
    assert_eq!(
        store.current_revision().await.expect("revision"),
        deleted.revision
    );
    let url = created.content.urls()[0].to_string();
    for lookup in [
        Lookup::Id(created.id),
        Lookup::Key(created.key.clone()),
        Lookup::Url(url.clone()),
    ] {
        assert_eq!(store.get(&lookup).await.expect("get"), None, "{lookup}");
    }
    let by_url = ArticleQuery {
        url: Some(url),
        ..ArticleQuery::default()
    };
    assert!(
        all_pages(store.as_ref(), &by_url, Order::default(), 10)
            .await
            .is_empty()
    );
    let topic = ArticleQuery {
        topics: created.content.topics.clone(),
        ..ArticleQuery::default()
    };
    assert!(
        all_pages(store.as_ref(), &topic, Order::default(), 10)
            .await
            .is_empty()
    );
    let error = expect_error(
        store.delete(&Lookup::Id(created.id), None).await,
        "delete twice",
    );
    assert!(matches!(error, Error::NotFound(_)), "{error:?}");

    let recreated = store
        .create(
            key("doomed"),
            sample_content("reborn", "2024-01-01T00:00:00Z"),
        )
        .await
        .expect("the key is free again");
    assert_ne!(recreated.id, created.id, "ids are never reused");
    assert!(recreated.revision > deleted.revision);
    // Nothing of the deleted article is left to match the new one by.
    for query in [
        ArticleQuery {
            text: Some("doomed".to_string()),
            ..ArticleQuery::default()
        },
        ArticleQuery {
            url: Some(created.content.urls()[0].to_string()),
            ..ArticleQuery::default()
        },
    ] {
        assert!(
            all_pages(store.as_ref(), &query, Order::default(), 10)
                .await
                .is_empty(),
            "{query:?} matched after the delete"
        );
    }
}

// ---------------------------------------------------------------------------
// Revisions and the change log
// ---------------------------------------------------------------------------

/// Every committed write, and only those, appends one change-log entry
/// with the next revision and the article as written (as it was, for a
/// delete).
pub async fn revisions_increase_with_one_change_per_committed_write(
    database: &impl ContractDatabase,
) {
    let store = database.open_store().await;
    // Each expected entry: kind and the article it must carry.
    let mut expected: Vec<(ChangeKind, Article)> = Vec::new();

    let first = store
        .create(key("a"), sample_content("alpha", "2024-01-01T00:00:00Z"))
        .await
        .expect("create a");
    expected.push((ChangeKind::Created, first.clone()));
    let second = store
        .create(key("b"), sample_content("beta", "2024-01-02T00:00:00Z"))
        .await
        .expect("create b");
    expected.push((ChangeKind::Created, second.clone()));
    let title_patch = |title: &str| ArticlePatch {
        fields: vec![ContentField::Title],
        key: None,
        source: sample_content(title, "2024-01-01T00:00:00Z"),
    };
    let updated = store
        .update(&Lookup::Id(first.id), &title_patch("alpha two"), None)
        .await
        .expect("update a");
    expected.push((ChangeKind::Updated, updated.clone()));
    // Not committed: a no-op, a stale etag, a taken key.
    store
        .update(&Lookup::Id(first.id), &title_patch("alpha two"), None)
        .await
        .expect("no-op update");
    expect_error(
        store
            .update(
                &Lookup::Id(first.id),
                &title_patch("alpha three"),
                Some(&first.etag),
            )
            .await,
        "stale update",
    );
    expect_error(
        store
            .create(key("a"), sample_content("again", "2024-01-01T00:00:00Z"))
            .await,
        "duplicate create",
    );
    let deleted = store
        .delete(&Lookup::Id(second.id), None)
        .await
        .expect("delete b");
    expected.push((ChangeKind::Deleted, second.clone()));

    let outcomes = store
        .upsert_batch(vec![
            UpsertItem {
                key: key("c"),
                content: sample_content("gamma", "2024-01-03T00:00:00Z"),
            },
            UpsertItem {
                key: key("a"),
                content: updated.content.clone(),
            },
            UpsertItem {
                key: key("bad"),
                content: sample_content("", "2024-01-03T00:00:00Z"),
            },
            UpsertItem {
                key: key("b"),
                content: sample_content("beta again", "2024-01-04T00:00:00Z"),
            },
        ])
        .await
        .expect("the batch commits");
    match outcomes.as_slice() {
        [
            Ok(UpsertOutcome::Created(gamma)),
            Ok(UpsertOutcome::Unchanged(alpha)),
            Err(Error::InvalidArgument(_)),
            Ok(UpsertOutcome::Created(beta)),
        ] => {
            assert_eq!(alpha, &updated);
            expected.push((ChangeKind::Created, gamma.clone()));
            expected.push((ChangeKind::Created, beta.clone()));
        }
        other => panic!("unexpected outcomes {other:?}"),
    }

    let changes = store
        .changes_since(Revision(0), 1000)
        .await
        .expect("changes_since");
    let kinds: Vec<ChangeKind> = changes.iter().map(|change| change.kind).collect();
    let expected_kinds: Vec<ChangeKind> = expected.iter().map(|(kind, _)| *kind).collect();
    assert_eq!(kinds, expected_kinds);
    for (change, (kind, article)) in changes.iter().zip(&expected) {
        assert_eq!(
            &change.article, article,
            "{kind:?} entry {:?}",
            change.revision
        );
        assert_eq!(change.id, article.id);
        assert_eq!(change.key, article.key);
        if *kind == ChangeKind::Deleted {
            assert_eq!(change.revision, deleted.revision);
        } else {
            assert_eq!(change.revision, article.revision);
        }
    }
    for pair in changes.windows(2) {
        assert!(pair[0].revision < pair[1].revision, "revisions increase");
    }
    let last = changes.last().expect("changes").revision;
    assert_eq!(store.current_revision().await.expect("revision"), last);

    // Paging through the log.
    let middle = changes[2].revision;
    let after_middle = store.changes_since(middle, 2).await.expect("changes_since");
    assert_eq!(after_middle, changes[3..5].to_vec());
    assert!(
        store
            .changes_since(last, 10)
            .await
            .expect("changes_since")
            .is_empty()
    );
    assert!(
        store
            .changes_since(Revision(0), 0)
            .await
            .expect("changes_since")
            .is_empty()
    );
}

/// An update's entry keeps the content before it (front matter only), so
/// a filtered watch can tell entering from leaving; creates and deletes
/// keep none.
pub async fn updates_log_the_content_before_them(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let original = sample_content("alpha", "2024-01-01T00:00:00Z");
    let created = store
        .create(key("a"), original.clone())
        .await
        .expect("create");
    let mut unpublished = original.clone();
    unpublished.published = Some(false);
    let patch = ArticlePatch {
        fields: vec![ContentField::Published],
        key: None,
        source: unpublished.clone(),
    };
    let updated = store
        .update(&Lookup::Id(created.id), &patch, None)
        .await
        .expect("update");
    let mut retitled = unpublished.clone();
    retitled.title = "alpha renamed".to_string();
    store
        .upsert_batch(vec![
            UpsertItem {
                key: key("a"),
                content: retitled.clone(),
            },
            UpsertItem {
                key: key("a"),
                content: original.clone(),
            },
        ])
        .await
        .expect("the batch commits");
    store
        .delete(&Lookup::Id(created.id), None)
        .await
        .expect("delete");
    let changes = store
        .changes_since(Revision(0), 100)
        .await
        .expect("changes_since");
    let front_matter = |content: &ArticleContent| content.front_matter_json();
    let befores: Vec<(ChangeKind, Option<String>)> = changes
        .iter()
        .map(|change| {
            if let Some(before) = &change.before {
                assert_eq!(before.body, "", "the body is not kept");
            }
            (change.kind, change.before.as_ref().map(front_matter))
        })
        .collect();
    assert_eq!(
        befores,
        vec![
            (ChangeKind::Created, None),
            (ChangeKind::Updated, Some(front_matter(&original))),
            (ChangeKind::Updated, Some(front_matter(&unpublished))),
            (ChangeKind::Updated, Some(front_matter(&retitled))),
            (ChangeKind::Deleted, None),
        ]
    );
    assert_eq!(changes[1].article, updated);
}

/// Compaction removes what the retention no longer keeps, and only that;
/// resuming below the mark is an error naming it, never a silent gap; the
/// current revision survives even when every entry is gone.
pub async fn compaction_keeps_what_the_retention_says(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    for index in 0..10 {
        store
            .create(
                key(&format!("article-{index}")),
                sample_content(&format!("article {index}"), "2024-01-01T00:00:00Z"),
            )
            .await
            .expect("create");
    }
    let keep = |max_age: Option<std::time::Duration>, max_entries: Option<u64>| Retention {
        max_age,
        max_entries,
    };
    // Nothing is old enough yet.
    let mark = store
        .compact_change_log(keep(Some(std::time::Duration::from_secs(3600)), None))
        .await
        .expect("compact");
    assert_eq!(mark, Revision(0));
    assert_eq!(change_count(store.as_ref()).await, 10);

    let mark = store
        .compact_change_log(keep(None, Some(4)))
        .await
        .expect("compact");
    assert_eq!(mark, Revision(6));
    let kept: Vec<i64> = store
        .changes_since(Revision(6), 100)
        .await
        .expect("changes_since at the mark")
        .iter()
        .map(|change| change.revision.0)
        .collect();
    assert_eq!(kept, vec![7, 8, 9, 10]);
    match store.changes_since(Revision(5), 100).await {
        Err(Error::RevisionCompacted { requested, oldest }) => {
            assert_eq!((requested, oldest), (5, 6));
        }
        other => panic!("expected RevisionCompacted, got {other:?}"),
    }
    // The mark never goes down.
    let mark = store
        .compact_change_log(keep(None, Some(100)))
        .await
        .expect("compact");
    assert_eq!(mark, Revision(6));

    // By age: everything committed before now.
    let mark = store
        .compact_change_log(keep(Some(std::time::Duration::ZERO), None))
        .await
        .expect("compact");
    assert_eq!(mark, Revision(10));
    assert!(
        store
            .changes_since(Revision(10), 100)
            .await
            .expect("changes_since")
            .is_empty()
    );
    assert_eq!(
        store.current_revision().await.expect("revision"),
        Revision(10)
    );
    let next = store
        .create(
            key("after"),
            sample_content("after", "2024-01-02T00:00:00Z"),
        )
        .await
        .expect("create after compaction");
    assert_eq!(next.revision, Revision(11), "revisions are never reused");
    let after: Vec<i64> = store
        .changes_since(Revision(10), 100)
        .await
        .expect("changes_since")
        .iter()
        .map(|change| change.revision.0)
        .collect();
    assert_eq!(after, vec![11]);
}

// ---------------------------------------------------------------------------
// Imports
// ---------------------------------------------------------------------------

/// An import creates new keys, updates changed ones in place, and skips
/// identical ones without a write.
pub async fn upsert_batch_creates_updates_and_skips(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let items: Vec<UpsertItem> = corpus_items().into_iter().take(10).collect();
    let created = load(store.as_ref(), items.clone()).await;
    let revision_after_first = store.current_revision().await.expect("revision");
    assert_eq!(change_count(store.as_ref()).await, 10);

    let mut second = items.clone();
    for item in &mut second[..3] {
        item.content.heat = Some(item.content.heat.unwrap_or_default() + 1);
    }
    second.push(UpsertItem {
        key: key("brand-new"),
        content: sample_content("brand new", "2024-05-05T00:00:00Z"),
    });
    let outcomes = store.upsert_batch(second.clone()).await.expect("commits");
    assert_eq!(outcomes.len(), 11);
    let mut revisions = Vec::new();
    for (index, outcome) in outcomes.iter().enumerate() {
        let outcome = outcome.as_ref().expect("every item succeeds");
        match (index, outcome) {
            (0..=2, UpsertOutcome::Updated(article)) => {
                let before = &created[index];
                assert_eq!(article.id, before.id, "an update keeps the id");
                assert_eq!(article.create_time, before.create_time);
                assert!(article.update_time >= before.update_time);
                assert_eq!(article.content, second[index].content);
                assert_eq!(article.etag, second[index].content.etag(&before.key));
                assert!(article.revision > revision_after_first);
                revisions.push(article.revision);
            }
            (3..=9, UpsertOutcome::Unchanged(article)) => {
                assert_eq!(article, &created[index], "unchanged is the stored article");
            }
            (10, UpsertOutcome::Created(article)) => {
                assert_eq!(article.key, key("brand-new"));
                revisions.push(article.revision);
            }
            (index, outcome) => panic!("item {index}: unexpected {outcome:?}"),
        }
    }
    assert!(revisions.windows(2).all(|pair| pair[0] < pair[1]));
    assert_eq!(change_count(store.as_ref()).await, 14);
    assert_eq!(
        store.current_revision().await.expect("revision"),
        *revisions.last().expect("revisions")
    );

    // The same key twice in one batch: created, then updated in order.
    let outcomes = store
        .upsert_batch(vec![
            UpsertItem {
                key: key("twice"),
                content: sample_content("once", "2024-05-05T00:00:00Z"),
            },
            UpsertItem {
                key: key("twice"),
                content: sample_content("twice", "2024-05-05T00:00:00Z"),
            },
        ])
        .await
        .expect("commits");
    match outcomes.as_slice() {
        [
            Ok(UpsertOutcome::Created(first)),
            Ok(UpsertOutcome::Updated(second)),
        ] => {
            assert_eq!(first.id, second.id);
            assert!(second.revision > first.revision);
            assert_eq!(
                store.get(&Lookup::Key(key("twice"))).await.expect("get"),
                Some(second.clone())
            );
        }
        other => panic!("unexpected outcomes {other:?}"),
    }

    // A repeated key before another: the other is written in the first
    // round but takes the last revision, and is stored with it.
    let outcomes = store
        .upsert_batch(vec![
            UpsertItem {
                key: key("repeated"),
                content: sample_content("first", "2024-05-05T00:00:00Z"),
            },
            UpsertItem {
                key: key("repeated"),
                content: sample_content("second", "2024-05-05T00:00:00Z"),
            },
            UpsertItem {
                key: key("after-the-repeat"),
                content: sample_content("after", "2024-05-05T00:00:00Z"),
            },
        ])
        .await
        .expect("commits");
    match outcomes.as_slice() {
        [
            Ok(UpsertOutcome::Created(first)),
            Ok(UpsertOutcome::Updated(second)),
            Ok(UpsertOutcome::Created(after)),
        ] => {
            assert!(first.revision < second.revision && second.revision < after.revision);
            for stored in [second, after] {
                assert_eq!(
                    store.get(&Lookup::Id(stored.id)).await.expect("get"),
                    Some(stored.clone())
                );
            }
        }
        other => panic!("unexpected outcomes {other:?}"),
    }
    assert!(
        store
            .upsert_batch(Vec::new())
            .await
            .expect("an empty batch")
            .is_empty()
    );
}

/// A failing item is reported in its slot; the items around it, before
/// and after, are stored, and it leaves nothing behind.
pub async fn a_failed_batch_item_leaves_nothing_behind(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let existing = store
        .create(
            key("existing"),
            sample_content("existing", "2024-01-01T00:00:00Z"),
        )
        .await
        .expect("create");
    let mut invalid_update = sample_content("", "2024-01-01T00:00:00Z");
    invalid_update.topics = vec!["Invalid".to_string()];
    let outcomes = store
        .upsert_batch(vec![
            UpsertItem {
                key: key("before"),
                content: sample_content("before", "2024-01-02T00:00:00Z"),
            },
            UpsertItem {
                key: key("existing"),
                content: invalid_update,
            },
            UpsertItem {
                key: key("invalid-new"),
                content: sample_content(" ", "2024-01-03T00:00:00Z"),
            },
            UpsertItem {
                key: key("after"),
                content: sample_content("after", "2024-01-04T00:00:00Z"),
            },
        ])
        .await
        .expect("the batch commits");
    assert!(
        matches!(
            outcomes.as_slice(),
            [
                Ok(UpsertOutcome::Created(_)),
                Err(Error::InvalidArgument(_)),
                Err(Error::InvalidArgument(_)),
                Ok(UpsertOutcome::Created(_)),
            ]
        ),
        "{outcomes:?}"
    );
    assert_eq!(
        store.get(&Lookup::Key(key("existing"))).await.expect("get"),
        Some(existing)
    );
    assert_eq!(
        store
            .get(&Lookup::Key(key("invalid-new")))
            .await
            .expect("get"),
        None
    );
    for present in ["before", "after"] {
        assert!(
            store
                .get(&Lookup::Key(key(present)))
                .await
                .expect("get")
                .is_some()
        );
    }
    let invalid_topic = ArticleQuery {
        topics: vec!["Invalid".to_string()],
        ..ArticleQuery::default()
    };
    assert!(
        all_pages(store.as_ref(), &invalid_topic, Order::default(), 10)
            .await
            .is_empty()
    );
    assert_eq!(change_count(store.as_ref()).await, 3);
}

// ---------------------------------------------------------------------------
// URLs
// ---------------------------------------------------------------------------

/// A URL shared by several articles finds the most recently published one
/// (ties: the greater id) and lists them all.
pub async fn url_shared_by_two_articles(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let shared = "https://shared.example/story".to_string();
    let mut older = sample_content("older", "2024-01-01T00:00:00Z");
    older.original_url = Some(shared.clone());
    let mut newer = sample_content("newer", "2024-03-01T00:00:00Z");
    newer.cdn_amp_web_url = Some(shared.clone());
    // Created after `newer` so its id is greater, but published earlier.
    let mut oldest = sample_content("oldest", "2023-01-01T00:00:00Z");
    oldest.web_url = Some(shared.clone());
    let older = store.create(key("older"), older).await.expect("create");
    let newer = store.create(key("newer"), newer).await.expect("create");
    let oldest = store.create(key("oldest"), oldest).await.expect("create");
    let by_url = Lookup::Url(shared.clone());
    assert_eq!(store.get(&by_url).await.expect("get"), Some(newer.clone()));

    let query = ArticleQuery {
        url: Some(shared.clone()),
        ..ArticleQuery::default()
    };
    let listed = all_pages(store.as_ref(), &query, Order::default(), 2).await;
    assert_same_articles(
        &listed,
        &[newer.clone(), older.clone(), oldest.clone()],
        "list by url",
    );

    // A tie on the publication time: the greater id wins.
    let mut tied = sample_content("tied", "2024-03-01T00:00:00Z");
    tied.amp_web_url = Some(shared.clone());
    let tied = store.create(key("tied"), tied).await.expect("create");
    let winner = if tied.id > newer.id { &tied } else { &newer };
    assert_eq!(
        store.get(&by_url).await.expect("get").as_ref(),
        Some(winner)
    );

    store
        .delete(&Lookup::Id(tied.id), None)
        .await
        .expect("delete");
    store
        .delete(&Lookup::Id(newer.id), None)
        .await
        .expect("delete");
    assert_eq!(store.get(&by_url).await.expect("get"), Some(older));
}

// ---------------------------------------------------------------------------
// Lists
// ---------------------------------------------------------------------------

/// With no filter, every order pages (7 at a time) through every row
/// exactly once, in (sort value, id) order.
pub async fn every_order_pages_through_all_rows(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let articles = load(store.as_ref(), dataset()).await;
    let everything = ArticleQuery::default();
    for order in all_orders() {
        let listed = all_pages(store.as_ref(), &everything, order, 7).await;
        let expected = reference(&articles, &everything, order);
        assert_eq!(expected.len(), articles.len());
        assert_same_articles(&listed, &expected, &format!("all rows in {order:?}"));
    }
}

/// A page that ends exactly at the last row has no next; one that ends
/// just before it does.
pub async fn page_boundaries_are_exact(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let articles = load(
        store.as_ref(),
        corpus_items().into_iter().take(14).collect(),
    )
    .await;
    let everything = ArticleQuery::default();
    let order = Order::default();
    let expected = reference(&articles, &everything, order);

    let whole = store
        .list(&page_request(&everything, order, 14, None))
        .await
        .expect("list");
    assert_same_articles(&whole.articles, &expected, "one exact page");
    assert_eq!(whole.next, None, "nothing follows the last row");

    let first = store
        .list(&page_request(&everything, order, 13, None))
        .await
        .expect("list");
    assert_eq!(first.articles.len(), 13);
    let next = first.next.expect("one row follows");
    let second = store
        .list(&page_request(&everything, order, 13, Some(next)))
        .await
        .expect("list");
    assert_same_articles(&second.articles, &expected[13..], "the last row");
    assert_eq!(second.next, None);

    // Strictly after: a cursor on the last row gives an empty page.
    let last = order.cursor_of(expected.last().expect("rows"));
    let empty = store
        .list(&page_request(&everything, order, 5, Some(last)))
        .await
        .expect("list");
    assert!(empty.articles.is_empty());
    assert_eq!(empty.next, None);
}

/// Every filter, alone and combined, with values at the bounds, agrees
/// with `ArticleQuery::matches` in two orders.
pub async fn filters_match_the_reference(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let articles = load(store.as_ref(), dataset()).await;
    let queries = filter_queries(&articles);
    check_queries(store.as_ref(), &articles, &queries).await;
}

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

/// Lists each query 7 rows at a time in two orders and compares with the
/// reference; most queries must match something, or they test little.
async fn check_queries(
    store: &dyn Store,
    articles: &[Article],
    queries: &[(String, ArticleQuery)],
) {
    let orders = [
        Order::default(),
        Order {
            field: SortField::Heat,
            direction: Direction::Ascending,
        },
    ];
    let mut non_empty = 0;
    for (label, query) in queries {
        for order in orders {
            let expected = reference(articles, query, order);
            let listed = all_pages(store, query, order, 7).await;
            assert_same_articles(&listed, &expected, &format!("{label} in {order:?}"));
            if order == Order::default() && !expected.is_empty() && expected.len() < articles.len()
            {
                non_empty += 1;
            }
        }
    }
    assert!(
        non_empty * 3 >= queries.len() * 2,
        "only {non_empty} of {} queries select a proper subset; the data tests too little",
        queries.len()
    );
}

/// Queries over every filter, built from the data so bounds sit on real
/// values.
fn filter_queries(articles: &[Article]) -> Vec<(String, ArticleQuery)> {
    let base = ArticleQuery::default();
    let mut queries: Vec<(String, ArticleQuery)> = Vec::new();
    let mut add = |label: &str, query: ArticleQuery| queries.push((label.to_string(), query));

    add("everything", base.clone());
    for topics in [
        vec!["AI"],
        vec!["Power Apps"],
        vec!["AI", "Computer Vision"],
        vec!["Opinion", "AI"],
        vec!["ai"],
        vec!["No Such Topic"],
    ] {
        add(
            &format!("topics {topics:?}"),
            ArticleQuery {
                topics: topics.iter().map(|topic| topic.to_string()).collect(),
                ..base.clone()
            },
        );
    }
    let some_article = &articles[articles.len() / 2];
    let mut urls: Vec<String> = (0..3)
        .map(|index| format!("https://shared.example/{index}"))
        .collect();
    urls.extend(
        some_article
            .content
            .urls()
            .iter()
            .map(|url| url.to_string()),
    );
    urls.push("https://nowhere.example/".to_string());
    for url in urls {
        add(
            &format!("url {url}"),
            ArticleQuery {
                url: Some(url),
                ..base.clone()
            },
        );
    }
    for category in ["news", "opinion", "unknown"] {
        add(
            &format!("category {category}"),
            ArticleQuery {
                category: Some(category.to_string()),
                ..base.clone()
            },
        );
    }
    for kind in ["article", "video"] {
        add(
            &format!("kind {kind}"),
            ArticleQuery {
                kind: Some(kind.to_string()),
                ..base.clone()
            },
        );
    }
    for domain in ["microsoft.com", "aws.amazon.com", "example.invalid"] {
        add(
            &format!("provider {domain}"),
            ArticleQuery {
                provider_domain: Some(domain.to_string()),
                ..base.clone()
            },
        );
    }
    for published in [true, false] {
        add(
            &format!("published {published}"),
            ArticleQuery {
                published: Some(published),
                ..base.clone()
            },
        );
    }

    let present = |values: Vec<Option<i32>>| -> Vec<i32> {
        let set: BTreeSet<i32> = values.into_iter().flatten().collect();
        set.into_iter().collect()
    };
    let qualities = present(
        articles
            .iter()
            .map(|article| article.content.quality)
            .collect(),
    );
    let heats = present(
        articles
            .iter()
            .map(|article| article.content.heat)
            .collect(),
    );
    let median = |values: &[i32]| values[values.len() / 2];
    let (quality, heat) = (median(&qualities), median(&heats));
    for (label, query) in [
        ("min_quality at a value", (Some(quality), None, None, None)),
        ("max_quality at a value", (None, Some(quality), None, None)),
        (
            "quality exactly",
            (Some(quality), Some(quality), None, None),
        ),
        ("min_quality lowest", (Some(i32::MIN), None, None, None)),
        ("max_quality highest", (None, Some(i32::MAX), None, None)),
        ("min_heat at a value", (None, None, Some(heat), None)),
        ("max_heat at a value", (None, None, None, Some(heat))),
        ("heat exactly", (None, None, Some(heat), Some(heat))),
        ("max_heat lowest", (None, None, None, Some(i32::MIN))),
        ("min_heat zero", (None, None, Some(0), None)),
        ("max_heat below zero", (None, None, None, Some(-1))),
    ] {
        let (min_quality, max_quality, min_heat, max_heat) = query;
        add(
            label,
            ArticleQuery {
                min_quality,
                max_quality,
                min_heat,
                max_heat,
                ..base.clone()
            },
        );
    }

    // Time bounds on real values, on both sides of them, and on the two
    // articles that share a microsecond.
    let mut times: Vec<DateTime<Utc>> = articles
        .iter()
        .map(|article| article.content.published_date_time)
        .collect();
    times.sort();
    let sub_micro = articles
        .iter()
        .map(|article| article.content.published_date_time)
        .find(|time| time.timestamp_subsec_nanos() % 1000 != 0)
        .expect("the dataset has a sub-microsecond time");
    let nanosecond = Duration::nanoseconds(1);
    for (label, time) in [
        ("a median time", times[times.len() / 2]),
        ("the first time", times[0]),
        ("a sub-microsecond time", sub_micro),
        ("just after a sub-microsecond time", sub_micro + nanosecond),
        ("just before a sub-microsecond time", sub_micro - nanosecond),
        (
            "a microsecond after a median time",
            times[times.len() / 2] + Duration::microseconds(1),
        ),
    ] {
        add(
            &format!("published_after {label}"),
            ArticleQuery {
                published_after: Some(time),
                ..base.clone()
            },
        );
        add(
            &format!("published_before {label}"),
            ArticleQuery {
                published_before: Some(time),
                ..base.clone()
            },
        );
    }
    add(
        "a time window",
        ArticleQuery {
            published_after: Some(times[times.len() / 4]),
            published_before: Some(times[times.len() * 3 / 4]),
            ..base.clone()
        },
    );

    add(
        "combined: published Power Apps with heat",
        ArticleQuery {
            topics: vec!["Power Apps".to_string()],
            published: Some(true),
            min_heat: Some(heat),
            ..base.clone()
        },
    );
    add(
        "combined: microsoft videos before the median",
        ArticleQuery {
            provider_domain: Some("microsoft.com".to_string()),
            kind: Some("video".to_string()),
            published_before: Some(times[times.len() / 2]),
            ..base.clone()
        },
    );
    add(
        "combined: opinion, quality window, text",
        ArticleQuery {
            category: Some("opinion".to_string()),
            min_quality: Some(qualities[0]),
            max_quality: Some(quality),
            text: Some("power".to_string()),
            ..base.clone()
        },
    );
    add(
        "combined: everything set",
        ArticleQuery {
            text: Some("apps".to_string()),
            topics: vec!["Power Apps".to_string(), "AI".to_string()],
            url: None,
            category: Some("news".to_string()),
            kind: Some("article".to_string()),
            provider_domain: Some("microsoft.com".to_string()),
            published: Some(true),
            min_quality: Some(i32::MIN),
            max_quality: Some(i32::MAX - 1),
            min_heat: Some(i32::MIN + 1),
            max_heat: Some(i32::MAX),
            published_after: Some(times[0]),
            published_before: Some(times[times.len() - 1]),
        },
    );
    queries
}

/// Paging while other writers insert and delete: no row twice, rows in
/// order, and every row that existed before the first page and was never
/// deleted is returned.
pub async fn pagination_survives_concurrent_inserts_and_deletes(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let items: Vec<UpsertItem> = dataset().into_iter().take(300).collect();
    let initial = load(store.as_ref(), items.clone()).await;
    let everything = ArticleQuery::default();

    for (round, order) in [
        Order::default(),
        Order {
            field: SortField::Heat,
            direction: Direction::Ascending,
        },
    ]
    .into_iter()
    .enumerate()
    {
        let alive: Vec<Article> = all_pages(store.as_ref(), &everything, order, 1000).await;
        let deleted: Arc<Mutex<HashSet<ArticleId>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        // Victims in an order unrelated to the listing order.
        let mut victims: Vec<ArticleId> = alive.iter().map(|article| article.id).collect();
        victims.sort_by_key(|id| id.to_string().chars().rev().collect::<String>());
        let (background_victims, inline_victims) = victims.split_at(victims.len() / 2);

        let background = tokio::spawn({
            let store = Arc::clone(&store);
            let deleted = Arc::clone(&deleted);
            let stop = Arc::clone(&stop);
            let victims = background_victims.to_vec();
            let templates = items.clone();
            async move {
                let mut count = 0usize;
                // At least one round, however fast the pager is.
                loop {
                    let template = &templates[(count * 37) % templates.len()];
                    let mut content = template.content.clone();
                    content.published_date_time += Duration::seconds(1);
                    content.heat = content.heat.map(|heat| heat.saturating_add(1));
                    store
                        .create(key(&format!("background-{round}-{count}")), content)
                        .await
                        .expect("a concurrent create");
                    if let Some(victim) = victims.get(count) {
                        deleted.lock().expect("lock").insert(*victim);
                        store
                            .delete(&Lookup::Id(*victim), None)
                            .await
                            .expect("a concurrent delete");
                    }
                    count += 1;
                    if stop.load(Ordering::SeqCst) {
                        break count;
                    }
                    tokio::task::yield_now().await;
                }
            }
        });

        let mut seen: Vec<Article> = Vec::new();
        let mut after = None;
        let mut page_number = 0usize;
        loop {
            let page = store
                .list(&page_request(&everything, order, 7, after))
                .await
                .expect("list");
            seen.extend(page.articles.iter().cloned());
            let Some(next) = page.next else { break };
            after = Some(next);
            // Writes right at the cursor, between pages: a row sharing the
            // last row's sort value, and a delete of a row not yet seen.
            let last = page.articles.last().expect("a page before a next");
            let mut content = last.content.clone();
            content.title = format!("inline {page_number}");
            store
                .create(key(&format!("inline-{round}-{page_number}")), content)
                .await
                .expect("an inline create");
            if let Some(victim) = inline_victims.get(page_number) {
                deleted.lock().expect("lock").insert(*victim);
                store
                    .delete(&Lookup::Id(*victim), None)
                    .await
                    .expect("an inline delete");
            }
            page_number += 1;
            tokio::task::yield_now().await;
        }
        stop.store(true, Ordering::SeqCst);
        let background_writes = background.await.expect("the background writer");
        assert!(background_writes > 0, "the background writer never ran");

        let mut ids = HashSet::new();
        for article in &seen {
            assert!(ids.insert(article.id), "{} returned twice", article.key);
        }
        for pair in seen.windows(2) {
            assert_eq!(
                compare_in_order(&pair[0], &pair[1], order),
                std::cmp::Ordering::Less,
                "rows out of order in {order:?}"
            );
        }
        let deleted = deleted.lock().expect("lock");
        let missed: Vec<&ArticleKey> = alive
            .iter()
            .filter(|article| !deleted.contains(&article.id) && !ids.contains(&article.id))
            .map(|article| &article.key)
            .collect();
        assert!(missed.is_empty(), "rows missed in {order:?}: {missed:?}");
        assert!(!initial.is_empty());
    }
}

// ---------------------------------------------------------------------------
// Durability
// ---------------------------------------------------------------------------

/// Everything acknowledged is there after the store is closed and opened
/// again, and revisions go on from where they were.
pub async fn reopening_keeps_everything(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let articles = load(store.as_ref(), dataset().into_iter().take(60).collect()).await;
    store
        .update(
            &Lookup::Id(articles[0].id),
            &ArticlePatch {
                fields: vec![ContentField::Body],
                key: None,
                source: sample_content("body", "2024-01-01T00:00:00Z"),
            },
            None,
        )
        .await
        .expect("update");
    store
        .delete(&Lookup::Id(articles[1].id), None)
        .await
        .expect("delete");
    let everything = ArticleQuery::default();
    let listed_before = all_pages(store.as_ref(), &everything, Order::default(), 1000).await;
    let changes_before = store
        .changes_since(Revision(0), 10_000)
        .await
        .expect("changes");
    let revision_before = store.current_revision().await.expect("revision");
    drop(store);

    let reopened = database.open_store().await;
    let listed_after = all_pages(reopened.as_ref(), &everything, Order::default(), 1000).await;
    assert_same_articles(&listed_after, &listed_before, "articles after reopening");
    assert_eq!(
        reopened
            .changes_since(Revision(0), 10_000)
            .await
            .expect("changes"),
        changes_before
    );
    assert_eq!(
        reopened.current_revision().await.expect("revision"),
        revision_before
    );
    let by_url = listed_before[0].content.urls()[0].to_string();
    assert!(
        reopened
            .get(&Lookup::Url(by_url))
            .await
            .expect("get")
            .is_some()
    );
    let error = expect_error(
        reopened
            .create(articles[2].key.clone(), articles[2].content.clone())
            .await,
        "create under a key stored before reopening",
    );
    assert!(matches!(error, Error::AlreadyExists(_)), "{error:?}");
    let next = reopened
        .create(
            key("after-reopening"),
            sample_content("later", "2024-01-01T00:00:00Z"),
        )
        .await
        .expect("create after reopening");
    assert!(next.revision > revision_before);
}
