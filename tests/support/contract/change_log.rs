//! Revisions and the change log: one entry per committed write, the
//! content before an update, compaction.

use newswire::article::{Article, ArticleContent, ArticlePatch, ContentField, Lookup, Revision};
use newswire::error::Error;
use newswire::store::{ChangeKind, Retention, UpsertItem, UpsertOutcome};

use super::ContractDatabase;
use super::assertions::{change_count, expect_error};
use super::data::{key, sample_content};

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
