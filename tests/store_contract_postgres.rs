//! The store contract (`tests/support/contract/`) run against
//! `PostgresStore`, each check on a fresh database of its own
//! (`tests/support/postgres.rs`), followed by what only a database server
//! shared by many sessions can get wrong: revisions in commit order,
//! deadlocks between imports, migrations racing at start-up.

#[path = "support/contract/mod.rs"]
mod contract;
mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use newswire::article::{ArticleContent, ArticleKey, ArticlePatch, ContentField, Lookup, Revision};
use newswire::error::Error;
use newswire::query::{ArticleQuery, Order, PageRequest, PageSize};
use newswire::store::postgres::{PostgresOptions, PostgresStore};
use newswire::store::{Retention, Store, UpsertItem, UpsertOutcome};
use support::postgres::{TestDatabase, with_database};

/// A fresh database; each `open_store` connects a new store to it.
struct PostgresDatabase {
    database: TestDatabase,
}

impl PostgresDatabase {
    async fn create() -> Self {
        Self {
            database: TestDatabase::create().await,
        }
    }

    async fn open(&self, pool_size: usize) -> PostgresStore {
        let options = PostgresOptions {
            pool_size,
            ..PostgresOptions::default()
        };
        PostgresStore::connect_with(
            self.database.url(),
            options,
            newswire::wire::article_encoder(),
        )
        .await
        .unwrap_or_else(|error| panic!("connecting to {}: {error}", self.database.name()))
    }
}

#[async_trait::async_trait]
impl contract::ContractDatabase for PostgresDatabase {
    async fn open_store(&self) -> Arc<dyn Store> {
        Arc::new(self.open(8).await)
    }
}

contract::store_contract_tests!(PostgresDatabase::create());

fn key(text: &str) -> ArticleKey {
    ArticleKey::parse(text, "key").expect("a valid test key")
}

/// A reader tailing the change log while several connections write never
/// misses an entry: no revision becomes visible after a higher one was
/// read. (With revisions from a sequence, one assigned earlier but
/// committed later would be skipped.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tailing_reader_sees_every_revision_in_order() {
    let database = PostgresDatabase::create().await;
    let store = Arc::new(database.open(8).await);
    const WRITERS: usize = 6;
    const WRITES: usize = 25;
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for write in 0..WRITES {
                    let content = contract::data::sample_content(
                        &format!("writer {writer} write {write}"),
                        "2024-01-01T00:00:00Z",
                    );
                    let created = store
                        .create(key(&format!("w{writer}-{write}")), content.clone())
                        .await
                        .expect("create");
                    if write % 3 == 0 {
                        let mut source = content;
                        source.heat = Some(write as i32);
                        store
                            .update(
                                &Lookup::Id(created.id),
                                &ArticlePatch {
                                    fields: vec![ContentField::Heat],
                                    key: None,
                                    source,
                                },
                                None,
                            )
                            .await
                            .expect("update");
                    }
                }
            })
        })
        .collect();
    let reader = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let mut seen: Vec<Revision> = Vec::new();
            let mut last = Revision(0);
            let expected_total = WRITERS * (WRITES + WRITES.div_ceil(3));
            while seen.len() < expected_total {
                let changes = store.changes_since(last, 50).await.expect("changes_since");
                for change in changes {
                    assert!(change.revision > last, "revisions go backwards");
                    last = change.revision;
                    seen.push(change.revision);
                }
                tokio::task::yield_now().await;
            }
            seen
        })
    };
    for writer in writers {
        writer.await.expect("a writer");
    }
    let seen = reader.await.expect("the reader");
    let all: Vec<Revision> = store
        .changes_since(Revision(0), 10_000)
        .await
        .expect("changes_since")
        .into_iter()
        .map(|change| change.revision)
        .collect();
    assert_eq!(seen, all, "the tailing reader missed or reordered entries");
    let expected: Vec<Revision> = (1..=all.len() as i64).map(Revision).collect();
    assert_eq!(all, expected, "revisions are gapless from 1");
}

/// Two imports updating the same articles in opposite orders can deadlock;
/// PostgreSQL aborts one, which runs again, and both land whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn imports_that_deadlock_are_retried() {
    let database = PostgresDatabase::create().await;
    let store = Arc::new(database.open(4).await);
    let items: Vec<UpsertItem> = contract::data::corpus_items()
        .into_iter()
        .take(40)
        .collect();
    store.upsert_batch(items.clone()).await.expect("the load");
    let changed = |heat: i32, reverse: bool| {
        let mut batch: Vec<UpsertItem> = items
            .iter()
            .cloned()
            .map(|mut item| {
                item.content.heat = Some(heat);
                item
            })
            .collect();
        if reverse {
            batch.reverse();
        }
        batch
    };
    let forward = {
        let store = Arc::clone(&store);
        let batch = changed(1_001, false);
        tokio::spawn(async move { store.upsert_batch(batch).await })
    };
    let backward = {
        let store = Arc::clone(&store);
        let batch = changed(2_002, true);
        tokio::spawn(async move { store.upsert_batch(batch).await })
    };
    for batch in [forward, backward] {
        let outcomes = batch.await.expect("the task").expect("the batch commits");
        assert!(
            outcomes
                .iter()
                .all(|outcome| matches!(outcome, Ok(UpsertOutcome::Updated(_)))),
            "{outcomes:?}"
        );
    }
    let changes = store
        .changes_since(Revision(0), 10_000)
        .await
        .expect("changes_since");
    assert_eq!(changes.len(), 40 * 3, "one entry per committed write");
    // Every article ends with the heat of whichever batch committed last,
    // the same for all: each batch is atomic.
    let heats: BTreeSet<Option<i32>> = store
        .get_many(
            &items
                .iter()
                .map(|item| Lookup::Key(item.key.clone()))
                .collect::<Vec<_>>(),
        )
        .await
        .expect("get_many")
        .into_iter()
        .map(|article| article.expect("present").content.heat)
        .collect();
    assert_eq!(heats.len(), 1, "{heats:?}");
}

/// Replicas starting together on an empty database migrate it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_starting_together_migrate_once() {
    let database = PostgresDatabase::create().await;
    let (first, second, third) = tokio::join!(database.open(2), database.open(2), database.open(2));
    let created = first
        .create(
            key("after-migrating"),
            contract::data::sample_content("migrated", "2024-01-01T00:00:00Z"),
        )
        .await
        .expect("create");
    for store in [&second, &third] {
        assert_eq!(
            store
                .get(&Lookup::Id(created.id))
                .await
                .expect("get")
                .as_ref(),
            Some(&created)
        );
    }
}

/// PostgreSQL text cannot hold a NUL character: an import item with one is
/// refused in its slot, and the rest of the batch is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_postgres_refuses_fails_alone() {
    let database = PostgresDatabase::create().await;
    let store = database.open(2).await;
    let mut with_nul = contract::data::sample_content("nul", "2024-01-01T00:00:00Z");
    with_nul.body = "a body with a \0 in it".to_string();
    let outcomes = store
        .upsert_batch(vec![
            UpsertItem {
                key: key("before"),
                content: contract::data::sample_content("before", "2024-01-01T00:00:00Z"),
            },
            UpsertItem {
                key: key("with-nul"),
                content: with_nul.clone(),
            },
            UpsertItem {
                key: key("after"),
                content: contract::data::sample_content("after", "2024-01-02T00:00:00Z"),
            },
        ])
        .await
        .expect("the batch commits");
    match outcomes.as_slice() {
        [
            Ok(UpsertOutcome::Created(before)),
            Err(Error::InvalidArgument(_)),
            Ok(UpsertOutcome::Created(after)),
        ] => {
            assert_eq!(before.revision, Revision(1));
            assert_eq!(after.revision, Revision(2));
        }
        other => panic!("unexpected outcomes {other:?}"),
    }
    let error = store
        .create(key("with-nul"), with_nul)
        .await
        .expect_err("a NUL is refused");
    assert!(matches!(error, Error::InvalidArgument(_)), "{error:?}");
    assert_eq!(
        store.current_revision().await.expect("revision"),
        Revision(2)
    );
}

/// A batch written together keeps item order: a key repeated in it is
/// created, left unchanged (with the revision of the write it repeats),
/// then updated, each update logging the content before it; an item
/// PostgreSQL refuses fails alone, and its topics and URLs are nowhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_applies_repeated_keys_in_order_around_a_refused_item() {
    let database = PostgresDatabase::create().await;
    let store = database.open(2).await;
    let first = contract::data::sample_content("first", "2024-01-01T00:00:00Z");
    let mut second = first.clone();
    second.title = "second".to_string();
    let other = contract::data::sample_content("other", "2024-01-02T00:00:00Z");
    let mut other_changed = other.clone();
    other_changed.topics = vec!["Changed".to_string()];
    let mut with_nul = contract::data::sample_content("nul", "2024-01-03T00:00:00Z");
    with_nul.body = "a \0 body".to_string();
    with_nul.topics = vec!["Refused".to_string()];
    let item = |text: &str, content: &ArticleContent| UpsertItem {
        key: key(text),
        content: content.clone(),
    };
    let outcomes = store
        .upsert_batch(vec![
            item("repeated", &first),
            item("other", &other),
            item("repeated", &first),
            item("with-nul", &with_nul),
            item("repeated", &second),
            item("other", &other_changed),
        ])
        .await
        .expect("the batch commits");
    let [
        Ok(UpsertOutcome::Created(created)),
        Ok(UpsertOutcome::Created(other_created)),
        Ok(UpsertOutcome::Unchanged(unchanged)),
        Err(Error::InvalidArgument(_)),
        Ok(UpsertOutcome::Updated(updated)),
        Ok(UpsertOutcome::Updated(other_updated)),
    ] = outcomes.as_slice()
    else {
        panic!("unexpected outcomes {outcomes:?}");
    };
    assert_eq!(
        [
            created.revision,
            other_created.revision,
            updated.revision,
            other_updated.revision
        ],
        [Revision(1), Revision(2), Revision(3), Revision(4)],
        "revisions follow item order"
    );
    assert_eq!(
        unchanged, created,
        "unchanged is the article as written before"
    );
    assert_eq!(updated.id, created.id);
    assert_eq!(other_updated.id, other_created.id);
    assert_eq!(
        store.get(&Lookup::Key(key("repeated"))).await.expect("get"),
        Some(updated.clone())
    );
    assert_eq!(
        store.get(&Lookup::Key(key("other"))).await.expect("get"),
        Some(other_updated.clone())
    );
    assert_eq!(
        store.get(&Lookup::Key(key("with-nul"))).await.expect("get"),
        None
    );
    let changes = store
        .changes_since(Revision(0), 100)
        .await
        .expect("changes_since");
    let befores: Vec<(String, Option<String>)> = changes
        .iter()
        .map(|change| {
            (
                change.article.content.title.clone(),
                change.before.as_ref().map(|before| before.title.clone()),
            )
        })
        .collect();
    let entry = |title: &str, before: Option<&str>| (title.to_string(), before.map(str::to_string));
    assert_eq!(
        befores,
        vec![
            entry("first", None),
            entry("other", None),
            entry("second", Some("first")),
            entry("other", Some("other")),
        ]
    );
    for (topic, expected) in [("Changed", 1), ("Refused", 0)] {
        let query = ArticleQuery {
            topics: vec![topic.to_string()],
            ..ArticleQuery::default()
        };
        let page = store
            .list(&PageRequest {
                query,
                order: Order::default(),
                size: PageSize::parse(10).expect("a page size"),
                after: None,
            })
            .await
            .expect("list");
        assert_eq!(page.articles.len(), expected, "articles with topic {topic}");
    }
}

/// A server that does not answer is `Unavailable` at start-up, and the
/// message names where it looked, never the password.
#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    let error = PostgresStore::connect(
        "postgres://newswire:secret@127.0.0.1:1/newswire",
        newswire::wire::article_encoder(),
    )
    .await
    .expect_err("nothing listens on port 1");
    match &error {
        Error::Unavailable(message) => assert!(!message.contains("secret"), "{message}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[test]
fn with_database_replaces_or_adds_the_database() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "fresh"),
        "postgres://postgres@127.0.0.1:5432/fresh"
    );
    assert_eq!(
        with_database("postgres://u:p@host/db?sslmode=disable", "fresh"),
        "postgres://u:p@host/fresh?sslmode=disable"
    );
    assert_eq!(
        with_database("postgresql://host:6543", "fresh"),
        "postgresql://host:6543/fresh"
    );
    assert_eq!(
        with_database("postgres://host?connect_timeout=3", "fresh"),
        "postgres://host/fresh?connect_timeout=3"
    );
    assert_eq!(
        with_database("host=localhost user=postgres", "fresh"),
        "host=localhost user=postgres dbname=fresh"
    );
}

/// Schema version 2 back-fills the previous front matter of the updates a
/// version-1 database already holds. The version-1 database is made by
/// undoing version 2 by hand on data written through the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_2_back_fills_the_content_before_each_update() {
    let database = PostgresDatabase::create().await;
    let store = database.open(2).await;
    let original = contract::data::sample_content("alpha", "2024-01-01T00:00:00Z");
    let created = store
        .create(key("a"), original.clone())
        .await
        .expect("create");
    store
        .create(
            key("b"),
            contract::data::sample_content("beta", "2024-01-01T00:00:00Z"),
        )
        .await
        .expect("create b");
    for heat in [1, 2] {
        let mut source = original.clone();
        source.heat = Some(heat);
        let patch = ArticlePatch {
            fields: vec![ContentField::Heat],
            key: None,
            source,
        };
        store
            .update(&Lookup::Id(created.id), &patch, None)
            .await
            .expect("update");
    }
    let written = store
        .changes_since(Revision(0), 100)
        .await
        .expect("changes_since");
    assert!(written[2].before.is_some() && written[3].before.is_some());
    drop(store);

    let (client, connection) =
        tokio_postgres::connect(database.database.url(), tokio_postgres::NoTls)
            .await
            .expect("a raw connection");
    tokio::spawn(connection);
    client
        .batch_execute(
            "ALTER TABLE changes DROP COLUMN previous_front_matter; \
             DROP TABLE change_log_compaction; \
             DELETE FROM schema_migrations WHERE version = 2;",
        )
        .await
        .expect("back to version 1");
    drop(client);

    let store = database.open(2).await;
    let migrated = store
        .changes_since(Revision(0), 100)
        .await
        .expect("changes_since after migrating");
    assert_eq!(
        migrated, written,
        "the back-fill restores what the writes logged"
    );
}

/// One replica's read cache holds an article; another replica updates it,
/// deletes a second one, and compacts the change log past both: the first
/// replica cannot read those changes from the log any more, so it must
/// start over, and serves the update and the delete at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_cache_behind_a_compacted_change_log_starts_over() {
    let database = PostgresDatabase::create().await;
    let writer = database.open(2).await;
    let reader = database.open(2).await;
    let content = contract::data::sample_content("cached", "2024-01-01T00:00:00Z");
    let updated_one = writer
        .create(key("updated"), content.clone())
        .await
        .expect("create");
    let deleted_one = writer
        .create(key("deleted"), content.clone())
        .await
        .expect("create");
    for article in [&updated_one, &deleted_one] {
        let cached = reader.get(&Lookup::Id(article.id)).await.expect("get");
        assert_eq!(cached.as_ref(), Some(article), "read into the cache");
    }

    let mut source = content;
    source.heat = Some(99);
    let patch = ArticlePatch {
        fields: vec![ContentField::Heat],
        key: None,
        source,
    };
    let updated = writer
        .update(&Lookup::Id(updated_one.id), &patch, None)
        .await
        .expect("update");
    writer
        .delete(&Lookup::Id(deleted_one.id), None)
        .await
        .expect("delete");
    let mark = writer
        .compact_change_log(Retention {
            max_age: None,
            max_entries: Some(0),
        })
        .await
        .expect("compaction");
    assert_eq!(mark, Revision(4), "everything compacted away");

    let seen = reader.get(&Lookup::Id(updated_one.id)).await.expect("get");
    assert_eq!(seen, Some(updated), "the update behind the compaction");
    let seen = reader.get(&Lookup::Id(deleted_one.id)).await.expect("get");
    assert_eq!(seen, None, "the delete behind the compaction");
}
