//! Writes that must be refused, and leave nothing behind: a taken key,
//! invalid content, a stale etag, a missing article.

use newswire::article::{ArticleId, ArticlePatch, ContentField, Etag, Lookup, Revision};
use newswire::error::Error;
use newswire::store::UpsertItem;

use super::ContractDatabase;
use super::assertions::{change_count, expect_error};
use super::data::{key, sample_content};

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
