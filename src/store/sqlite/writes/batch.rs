//! An import batch: one transaction, and so one durable commit, in which
//! each item succeeds or fails alone.
//!
//! A savepoint around each item gives that, but costs about a third of the
//! rows' own cost (`docs/performance.md`), and an item rarely fails once it
//! is in SQL: it was validated and serialized before the transaction began.
//! So a batch is written without savepoints first; if an item's SQL fails,
//! that transaction is rolled back as a whole and the batch written again
//! with a savepoint around each item, which leaves the failed ones out.
//! Nothing of the first attempt survives its rollback, so the outcome is
//! the one the savepoints alone would give.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::article_version::{ArticleVersion, Serialized};
use super::begin;
use super::search_index::SearchUpdates;
use super::state::{StoredState, find_state_by_key};
use super::write_version::{write_existing, write_new};
use crate::article::{Article, ArticleContent, ArticleId, ArticleKey, Etag, Revision};
use crate::error::Error;
use crate::store::columns::now;
use crate::store::sqlite::rows::SqliteContext;
use crate::store::{ArticleEncoder, UpsertItem, UpsertOutcome};

/// Creates or replaces each item by key, each succeeding or failing alone,
/// all in one transaction and so one durable commit (see the module
/// documentation for how items are kept apart).
pub(in crate::store::sqlite) fn upsert_batch(
    connection: &mut Connection,
    encoder: &dyn ArticleEncoder,
    batch: PreparedBatch,
) -> Result<Vec<Result<UpsertOutcome, Error>>, Error> {
    let items = batch.items;
    let written = match write_batch(connection, encoder, &items, Isolation::Together)? {
        Some(written) => written,
        None => write_batch(connection, encoder, &items, Isolation::SavepointPerItem)?
            .ok_or_else(|| Error::Internal("an import batch with savepoints gave up".into()))?,
    };
    let time = written.time;
    Ok(items
        .into_iter()
        .zip(written.items)
        .map(|(item, written)| written.map(|written| written.into_outcome(item, time)))
        .collect())
}

/// How the items of a batch are kept apart inside its transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isolation {
    /// No savepoints: the first item whose SQL fails rolls the whole
    /// transaction back.
    Together,
    /// A savepoint around each item: a failed item is rolled back alone.
    SavepointPerItem,
}

/// An import batch, validated and serialized: the CPU work of a write that
/// needs no connection, done before the batch reaches the writer thread.
pub(in crate::store::sqlite) struct PreparedBatch {
    items: Vec<PendingItem>,
}

impl PreparedBatch {
    pub(in crate::store::sqlite) fn new(items: Vec<UpsertItem>) -> Self {
        Self {
            items: items.into_iter().map(PendingItem::new).collect(),
        }
    }
}

/// An import item, validated and serialized before its transaction.
struct PendingItem {
    key: ArticleKey,
    content: ArticleContent,
    /// Its serialized forms, or why it is invalid (it then writes nothing).
    serialized: Result<Serialized, Error>,
}

impl PendingItem {
    fn new(item: UpsertItem) -> Self {
        let serialized = Serialized::validated(&item.key, &item.content);
        Self {
            key: item.key,
            content: item.content,
            serialized,
        }
    }
}

/// What a committed batch wrote, item by item.
struct WrittenBatch {
    /// The update (and creation) time of every item written.
    time: DateTime<Utc>,
    items: Vec<Result<Written, Error>>,
}

/// What writing one item did, before the item moves into its outcome.
enum Written {
    Created {
        id: ArticleId,
        revision: Revision,
        etag: Etag,
    },
    Updated {
        id: ArticleId,
        create_time: DateTime<Utc>,
        revision: Revision,
        etag: Etag,
    },
    /// The stored article equals the item.
    Unchanged(StoredState),
}

impl Written {
    fn into_outcome(self, item: PendingItem, time: DateTime<Utc>) -> UpsertOutcome {
        match self {
            Written::Created { id, revision, etag } => UpsertOutcome::Created(Article {
                id,
                key: item.key,
                content: item.content,
                create_time: time,
                update_time: time,
                revision,
                etag,
            }),
            Written::Updated {
                id,
                create_time,
                revision,
                etag,
            } => UpsertOutcome::Updated(Article {
                id,
                key: item.key,
                content: item.content,
                create_time,
                update_time: time,
                revision,
                etag,
            }),
            // Equal etags mean equal content, so the item's content is the
            // stored one and need not be read back.
            Written::Unchanged(state) => UpsertOutcome::Unchanged(state.into_article(item.content)),
        }
    }
}

/// Writes the valid items of a batch in one transaction and commits it.
/// `None` (with the transaction rolled back) if `Together` met an item
/// whose SQL failed.
fn write_batch(
    connection: &mut Connection,
    encoder: &dyn ArticleEncoder,
    items: &[PendingItem],
    isolation: Isolation,
) -> Result<Option<WrittenBatch>, Error> {
    let mut transaction = begin(connection)?;
    let time = now();
    let mut written = Vec::with_capacity(items.len());
    let mut search = SearchUpdates::default();
    for item in items {
        let serialized = match &item.serialized {
            Ok(serialized) => serialized,
            Err(invalid) => {
                written.push(Err(invalid.clone()));
                continue;
            }
        };
        let outcome = match isolation {
            Isolation::Together => {
                match upsert_one(&transaction, encoder, item, serialized, time, &mut search) {
                    Ok(outcome) => Ok(outcome),
                    Err(_) => {
                        // `finish` rolls back, and copes with SQLite having
                        // rolled back already (as it does on a full disk).
                        transaction
                            .finish()
                            .context("rolling back an import batch")?;
                        return Ok(None);
                    }
                }
            }
            Isolation::SavepointPerItem => {
                let savepoint = transaction.savepoint().context("starting an import item")?;
                let mut item_search = SearchUpdates::default();
                let outcome = upsert_one(
                    &savepoint,
                    encoder,
                    item,
                    serialized,
                    time,
                    &mut item_search,
                );
                if outcome.is_ok() {
                    savepoint.commit().context("finishing an import item")?;
                    search.append(item_search);
                } else {
                    savepoint.finish().context("rolling back an import item")?;
                }
                outcome
            }
        };
        written.push(outcome);
    }
    search.apply(&transaction)?;
    transaction.commit().context("committing an import")?;
    Ok(Some(WrittenBatch {
        time,
        items: written,
    }))
}

fn upsert_one<'a>(
    connection: &Connection,
    encoder: &dyn ArticleEncoder,
    item: &'a PendingItem,
    serialized: &'a Serialized,
    time: DateTime<Utc>,
    search: &mut SearchUpdates<'a>,
) -> Result<Written, Error> {
    let Some(state) = find_state_by_key(connection, &item.key)? else {
        let version = ArticleVersion::new(
            ArticleId::generate(),
            &item.key,
            &item.content,
            serialized,
            time,
            time,
        );
        let revision = write_new(connection, encoder, &version, search)?;
        return Ok(Written::Created {
            id: version.id,
            revision,
            etag: serialized.etag.clone(),
        });
    };
    if serialized.etag == state.etag {
        return Ok(Written::Unchanged(state));
    }
    let version = ArticleVersion::new(
        state.id,
        &item.key,
        &item.content,
        serialized,
        state.create_time,
        time,
    );
    let revision = write_existing(connection, encoder, state.row_id, &version, search)?;
    Ok(Written::Updated {
        id: state.id,
        create_time: state.create_time,
        revision,
        etag: serialized.etag.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::encoded::DebugEncoder;
    use crate::store::sqlite::schema::migrated_in_memory;

    fn content(title: &str, url: &str) -> ArticleContent {
        serde_json::from_value(serde_json::json!({
            "title": title,
            "publishedDateTime": "2024-01-01T00:00:00Z",
            "originalUrl": url,
            "topics": ["Testing"],
        }))
        .expect("test content deserializes")
    }

    fn item(key: &str, url: &str) -> UpsertItem {
        UpsertItem {
            key: ArticleKey::parse(key, "key").expect("a valid key"),
            content: content(key, url),
        }
    }

    fn count(connection: &Connection, table: &str) -> i64 {
        connection
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .expect("count")
    }

    /// An item that fails after some of its rows were written (here, at its
    /// URL, by an injected trigger) rolls back to its savepoint alone.
    #[test]
    fn a_failure_midway_through_an_item_rolls_back_only_that_item() {
        let mut connection = migrated_in_memory();
        fail_at_url(&connection, "https://fail.example/");
        let outcomes = upsert_batch(
            &mut connection,
            &DebugEncoder,
            PreparedBatch::new(vec![
                item("first", "https://one.example/"),
                item("failing", "https://fail.example/"),
                item("last", "https://two.example/"),
            ]),
        )
        .expect("the batch commits");
        let revisions: Vec<i64> = match outcomes.as_slice() {
            [
                Ok(UpsertOutcome::Created(first)),
                Err(Error::Internal(_)),
                Ok(UpsertOutcome::Created(last)),
            ] => vec![first.revision.0, last.revision.0],
            other => panic!("unexpected outcomes {other:?}"),
        };
        assert_eq!(
            revisions,
            vec![1, 2],
            "the failed item's revision was rolled back"
        );
        assert_eq!(count(&connection, "articles"), 2);
        assert_eq!(count(&connection, "change_log"), 2);
        assert_eq!(count(&connection, "article_topics"), 2);
        assert_eq!(count(&connection, "article_urls"), 2);
        let failing_rows: i64 = connection
            .query_row(
                "SELECT COUNT(*) FROM articles WHERE key = 'failing'",
                [],
                |row| row.get(0),
            )
            .expect("count");
        assert_eq!(failing_rows, 0);
        let searchable: i64 = connection
            .query_row(
                "SELECT COUNT(*) FROM article_search WHERE article_search MATCH 'failing'",
                [],
                |row| row.get(0),
            )
            .expect("search");
        assert_eq!(searchable, 0);
    }

    fn fail_at_url(connection: &Connection, url: &str) {
        connection
            .execute_batch(&format!(
                "CREATE TEMP TRIGGER fail_at_url BEFORE INSERT ON main.article_urls \
                 WHEN NEW.url = '{url}' \
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
            ))
            .expect("the trigger");
    }

    fn pending(items: Vec<UpsertItem>) -> Vec<PendingItem> {
        PreparedBatch::new(items).items
    }

    /// Without savepoints, a failing item makes the batch give up and
    /// leaves nothing behind, so that the batch can be written again.
    #[test]
    fn a_failure_without_savepoints_rolls_back_the_whole_batch() {
        let mut connection = migrated_in_memory();
        fail_at_url(&connection, "https://fail.example/");
        let items = pending(vec![
            item("first", "https://one.example/"),
            item("failing", "https://fail.example/"),
        ]);
        let written = write_batch(&mut connection, &DebugEncoder, &items, Isolation::Together)
            .expect("no batch error");
        assert!(written.is_none(), "the batch gave up");
        assert!(connection.is_autocommit(), "no transaction left open");
        for table in ["articles", "change_log", "article_topics", "article_urls"] {
            assert_eq!(count(&connection, table), 0, "{table}");
        }
        let written = write_batch(
            &mut connection,
            &DebugEncoder,
            &items,
            Isolation::SavepointPerItem,
        )
        .expect("no batch error")
        .expect("savepoints never give up");
        assert!(matches!(
            written.items.as_slice(),
            [
                Ok(Written::Created {
                    revision: Revision(1),
                    ..
                }),
                Err(Error::Internal(_))
            ]
        ));
    }

    /// Items that fail validation fail before any SQL, so they leave the
    /// other items of the batch on the path without savepoints.
    #[test]
    fn invalid_items_do_not_need_savepoints() {
        let mut connection = migrated_in_memory();
        let mut invalid = item("invalid", "https://invalid.example/");
        invalid.content.title = " ".to_string();
        let items = pending(vec![
            item("first", "https://one.example/"),
            invalid,
            item("last", "https://two.example/"),
        ]);
        let written = write_batch(&mut connection, &DebugEncoder, &items, Isolation::Together)
            .expect("no batch error")
            .expect("nothing failed in SQL");
        assert!(matches!(
            written.items.as_slice(),
            [
                Ok(Written::Created {
                    revision: Revision(1),
                    ..
                }),
                Err(Error::InvalidArgument(_)),
                Ok(Written::Created {
                    revision: Revision(2),
                    ..
                }),
            ]
        ));
        assert_eq!(count(&connection, "articles"), 2);
    }

    /// Created, updated and unchanged items in one batch, with one revision
    /// and one change-log entry per write, and search kept in step.
    #[test]
    fn a_batch_creates_updates_and_skips_unchanged_items() {
        let mut connection = migrated_in_memory();
        upsert_batch(
            &mut connection,
            &DebugEncoder,
            PreparedBatch::new(vec![item("kept", "https://kept.example/")]),
        )
        .expect("the first batch");
        let mut changed = item("kept", "https://kept.example/");
        changed.content.title = "retitled".to_string();
        let outcomes = upsert_batch(
            &mut connection,
            &DebugEncoder,
            PreparedBatch::new(vec![
                item("new", "https://new.example/"),
                changed.clone(),
                changed,
            ]),
        )
        .expect("the second batch");
        let revisions: Vec<Option<i64>> = outcomes
            .iter()
            .map(|outcome| match outcome {
                Ok(UpsertOutcome::Created(article) | UpsertOutcome::Updated(article)) => {
                    Some(article.revision.0)
                }
                Ok(UpsertOutcome::Unchanged(article)) => {
                    assert_eq!(article.revision.0, 3);
                    None
                }
                Err(error) => panic!("{error}"),
            })
            .collect();
        assert_eq!(revisions, vec![Some(2), Some(3), None]);
        assert_eq!(count(&connection, "change_log"), 3);
        let searchable: i64 = connection
            .query_row(
                "SELECT COUNT(*) FROM article_search WHERE article_search MATCH 'retitled'",
                [],
                |row| row.get(0),
            )
            .expect("search");
        assert_eq!(searchable, 1);
    }
}
