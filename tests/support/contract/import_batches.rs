//! Import batches (`upsert_batch`): creates, updates and skips item by
//! item; a failing item fails alone.

use newswire::article::Lookup;
use newswire::error::Error;
use newswire::query::{ArticleQuery, Order};
use newswire::store::{UpsertItem, UpsertOutcome};

use super::ContractDatabase;
use super::assertions::{all_pages, change_count};
use super::data::{corpus_items, key, load, sample_content};

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
