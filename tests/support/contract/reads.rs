//! Reads: an article found by id, key and each URL; `get_many`; a URL
//! shared by several articles.

use newswire::article::{ArticleId, Lookup, Revision};
use newswire::query::{ArticleQuery, Order};

use super::ContractDatabase;
use super::assertions::{all_pages, assert_same_articles};
use super::data::{corpus_items, key, load, sample_content};

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
