//! Durability: everything acknowledged survives a restart.

use newswire::article::{ArticlePatch, ContentField, Lookup, Revision};
use newswire::error::Error;
use newswire::query::{ArticleQuery, Order};

use super::ContractDatabase;
use super::assertions::{all_pages, assert_same_articles, expect_error};
use super::data::{dataset, key, load, sample_content};

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
