//! Writes that succeed: updates by field mask, renames, updates that
//! change nothing, deletes.

use newswire::article::{ArticlePatch, ContentField, Etag, Lookup};
use newswire::error::Error;
use newswire::query::{ArticleQuery, Order};

use super::ContractDatabase;
use super::assertions::{all_pages, change_count, expect_error, page_request};
use super::data::{key, sample_content};

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
