//! The SQLite schema, as an ordered list of migrations applied at open.
//!
//! Each migration runs in its own transaction and bumps `PRAGMA
//! user_version` (through `rusqlite_migration`), so a database is always at
//! a whole version. Append new migrations; never edit one that has shipped.
//!
//! # Version 1
//!
//! `articles` holds one row per live article:
//! - `seq` is an integer handle (an `INTEGER PRIMARY KEY`, so `VACUUM` keeps
//!   it) that the side tables and the search index point at; it is cheaper
//!   to join on than the 36-byte id.
//! - `id` (hyphenated UUID text, whose byte order is the id's order), `key`,
//!   `front_matter` (`ArticleContent::front_matter_json`), `body`, and the
//!   server-owned `create_time`, `update_time` (microseconds since the
//!   epoch), `revision` and `etag`.
//! - Extracted copies of what filters and orders read: `published_at` is
//!   `sort_value(PublishedDateTime)` (microseconds, floored) and
//!   `published_nanos` the nanoseconds below it, so bounds compare exactly;
//!   `sort_heat` and `sort_quality` are `sort_value` of heat and quality (a
//!   missing value is `i64::MIN`, below every `i32`, so a bound written as
//!   a range within the `i32`s never matches it); `published` (0, 1 or
//!   NULL), `category`, `kind` (the feed's `type`) and `provider_domain`.
//!
//! `article_topics` and `article_urls` hold one row per distinct topic and
//! per distinct URL of an article (`ArticleContent::urls`).
//!
//! `article_search` is a contentless FTS5 index whose rowid is
//! `articles.seq`. Its text is `query::search_words(title + " " + excerpt)`
//! joined by spaces: Rust decides what a word is, and the `ascii` tokenizer
//! then splits on the spaces only (after `search_words` a word holds just
//! `[a-z0-9]` and non-ASCII letters and digits, all token characters to it)
//! and folds nothing further, so `"word"*` in SQL is exactly
//! `starts_with(word)` in `ArticleQuery::matches`. (`unicode61` would fold
//! and split non-ASCII text its own way and could disagree.)
//!
//! `change_log` has one row per committed write; its `AUTOINCREMENT` key is
//! the revision, never reused. It keeps the article as written (as it was,
//! for a delete) in columns; `article_revision` is NULL when the article's
//! revision is the entry's own, and the article's earlier revision for a
//! delete.
//!
//! Indexes serve every order with its id tiebreak, every equality filter
//! together with the default newest-first order, topic and URL lookups, and
//! the foreign keys' cascades.
//!
//! # Version 2: the change feed
//!
//! `change_log.previous_front_matter` keeps, for an update, the front
//! matter the article had before it (NULL otherwise), so a filtered watch
//! can tell whether an update made the article enter or leave its filter.
//! Existing updates get it from the article's entry before them.
//!
//! `change_log_compaction` is one row: `compacted_through`, the revision
//! through which entries may have been removed by the retention. Resuming
//! a feed below it fails instead of skipping what is gone. It also keeps
//! the current revision known when every entry was removed.
//!
//! # Version 3: compaction by index
//!
//! `change_log_by_commit_time` lets the retention find the newest expired
//! entry by reading only the expired entries' index rows. Without it every
//! compaction (one at start, then one a minute) scanned the whole change
//! log, articles and all, through the writer's 32 MiB page cache: CPU
//! growing with the log, and a resident set that grew with the database.
//!
//! # Version 4: encoded articles
//!
//! `encoded_articles` keeps each article as the store's `ArticleEncoder`
//! encodes it (a `newswire.v1.Article`), under the article's `seq` and
//! deleted with it. A stream reads these bytes instead of the article's
//! row: no JSON to parse, no message to build. Every write rewrites them in
//! its transaction. The migration gives each stored article an empty
//! placeholder, which the re-encoding at open fills (version 6: a database
//! migrated from before version 6 has no recorded encoder).
//!
//! # Version 5: encodings in the default order
//!
//! `encoded_articles` becomes a `WITHOUT ROWID` table keyed by
//! `(published_at, id)`, the default (newest-first) order, so an
//! unfiltered stream reads its pages in turn instead of one page per
//! article wherever that article's row was appended; `seq` (unique, and
//! the foreign key that deletes an encoding with its article) lets a write
//! replace an article's encoding whose key moved. A new database has 8 KiB
//! pages (`SqliteStore::open`), where a typical encoding (1.5 KB) is kept
//! in its leaf page; in a database made with 4 KiB pages, encodings over
//! about 1,000 bytes spill into overflow pages, correct but slower.
//!
//! # Version 6: which encoder wrote the encodings
//!
//! `article_encoding` is one row: `fingerprint`, the `ArticleEncoder`
//! fingerprint every stored encoding was written with (empty: unknown, as
//! for every database from before this version); and, while the store is
//! re-encoding at open (`reencode`), `reencoding_to`, the fingerprint it
//! is moving to, and `reencoded_through`, the `seq` through which articles
//! already have it, so a re-encoding killed half way resumes there.

use rusqlite::Transaction;
use rusqlite_migration::{HookResult, M, Migrations};

/// Version 1: see the module documentation.
const VERSION_1: &str = "
CREATE TABLE articles (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    key TEXT NOT NULL UNIQUE,
    front_matter TEXT NOT NULL,
    body TEXT NOT NULL,
    published_at INTEGER NOT NULL,
    published_nanos INTEGER NOT NULL,
    sort_heat INTEGER NOT NULL,
    sort_quality INTEGER NOT NULL,
    published INTEGER,
    category TEXT,
    kind TEXT,
    provider_domain TEXT,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    etag TEXT NOT NULL
) STRICT;

CREATE INDEX articles_by_published_at ON articles (published_at, id);
CREATE INDEX articles_by_heat ON articles (sort_heat, id);
CREATE INDEX articles_by_quality ON articles (sort_quality, id);
CREATE INDEX articles_by_category ON articles (category, published_at, id);
CREATE INDEX articles_by_kind ON articles (kind, published_at, id);
CREATE INDEX articles_by_provider_domain ON articles (provider_domain, published_at, id);
CREATE INDEX articles_by_published ON articles (published, published_at, id);

CREATE TABLE article_topics (
    article_seq INTEGER NOT NULL REFERENCES articles (seq) ON DELETE CASCADE,
    topic TEXT NOT NULL,
    PRIMARY KEY (article_seq, topic)
) STRICT, WITHOUT ROWID;

CREATE INDEX article_topics_by_topic ON article_topics (topic, article_seq);

CREATE TABLE article_urls (
    article_seq INTEGER NOT NULL REFERENCES articles (seq) ON DELETE CASCADE,
    url TEXT NOT NULL,
    PRIMARY KEY (article_seq, url)
) STRICT, WITHOUT ROWID;

CREATE INDEX article_urls_by_url ON article_urls (url, article_seq);

CREATE VIRTUAL TABLE article_search USING fts5 (
    words,
    content = '',
    contentless_delete = 1,
    detail = none,
    tokenize = 'ascii'
);

CREATE TABLE change_log (
    revision INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('created', 'updated', 'deleted')),
    commit_time INTEGER NOT NULL,
    article_id TEXT NOT NULL,
    key TEXT NOT NULL,
    front_matter TEXT NOT NULL,
    body TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    etag TEXT NOT NULL,
    article_revision INTEGER
) STRICT;
";

/// Version 2: see the module documentation. The temporary index makes the
/// back-fill linear rather than quadratic.
const VERSION_2: &str = "
ALTER TABLE change_log ADD COLUMN previous_front_matter TEXT;

CREATE INDEX change_log_backfill ON change_log (article_id, revision);
UPDATE change_log SET previous_front_matter = (
    SELECT earlier.front_matter FROM change_log AS earlier
    WHERE earlier.article_id = change_log.article_id AND earlier.revision < change_log.revision
    ORDER BY earlier.revision DESC LIMIT 1
) WHERE kind = 'updated';
DROP INDEX change_log_backfill;

CREATE TABLE change_log_compaction (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    compacted_through INTEGER NOT NULL
) STRICT;

INSERT INTO change_log_compaction (singleton, compacted_through) VALUES (1, 0);
";

/// Version 3: see the module documentation.
const VERSION_3: &str = "
CREATE INDEX change_log_by_commit_time ON change_log (commit_time, revision);
";

/// Version 4: see the module documentation; `reserve_existing_encodings`
/// gives each stored article its row.
const VERSION_4: &str = "
CREATE TABLE encoded_articles (
    seq INTEGER PRIMARY KEY REFERENCES articles (seq) ON DELETE CASCADE,
    article BLOB NOT NULL
) STRICT;
";

/// Version 5: see the module documentation.
const VERSION_5: &str = "
CREATE TABLE encoded_articles_in_order (
    published_at INTEGER NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL UNIQUE REFERENCES articles (seq) ON DELETE CASCADE,
    article BLOB NOT NULL,
    PRIMARY KEY (published_at, id)
) STRICT, WITHOUT ROWID;

INSERT INTO encoded_articles_in_order (published_at, id, seq, article)
SELECT a.published_at, a.id, a.seq, e.article
FROM articles a JOIN encoded_articles e ON e.seq = a.seq
ORDER BY a.published_at, a.id;

DROP TABLE encoded_articles;
ALTER TABLE encoded_articles_in_order RENAME TO encoded_articles;
";

/// Version 6: see the module documentation. No fingerprint yet, so the
/// re-encoding at open writes every encoding.
const VERSION_6: &str = "
CREATE TABLE article_encoding (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    fingerprint TEXT NOT NULL,
    reencoding_to TEXT,
    reencoded_through INTEGER NOT NULL
) STRICT;

INSERT INTO article_encoding (singleton, fingerprint, reencoding_to, reencoded_through)
VALUES (1, '', NULL, 0);
";

/// Gives every stored article an empty encoding, written for real by the
/// re-encoding at open (the migrations know no encoder). Once a hook that
/// encoded with `wire::encode_article`; the result after open is the same.
fn reserve_existing_encodings(transaction: &Transaction) -> HookResult {
    transaction.execute(
        "INSERT INTO encoded_articles (seq, article) SELECT seq, x'' FROM articles",
        [],
    )?;
    Ok(())
}

/// Every migration, oldest first.
pub(super) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(VERSION_1),
        M::up(VERSION_2),
        M::up(VERSION_3),
        M::up_with_hook(VERSION_4, reserve_existing_encodings),
        M::up(VERSION_5),
        M::up(VERSION_6),
    ])
}

/// An in-memory database at the current schema, for unit tests.
#[cfg(test)]
pub(super) fn migrated_in_memory() -> rusqlite::Connection {
    let mut connection = rusqlite::Connection::open_in_memory().expect("an in-memory database");
    connection
        .pragma_update(None, "foreign_keys", "ON")
        .expect("foreign keys on");
    migrations()
        .to_latest(&mut connection)
        .expect("the migrations apply");
    connection
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        assert!(migrations().validate().is_ok());
    }

    /// The retention's search for expired entries reads the index, not the
    /// change log's rows.
    #[test]
    fn expired_entries_are_found_by_index() {
        let connection = migrated_in_memory();
        let plan: Vec<String> = connection
            .prepare(&format!(
                "EXPLAIN QUERY PLAN {}",
                super::super::writes::NEWEST_EXPIRED_REVISION
            ))
            .and_then(|mut statement| {
                statement
                    .query_map([0_i64], |row| row.get(3))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .expect("explain runs");
        assert!(
            plan.iter()
                .any(|step| { step.contains("COVERING INDEX change_log_by_commit_time") }),
            "{plan:?}"
        );
    }

    /// Version 2 back-fills each existing update's previous front matter
    /// from the article's entry before it.
    #[test]
    fn version_2_back_fills_previous_front_matter() {
        let mut connection = rusqlite::Connection::open_in_memory().expect("a database");
        Migrations::new(vec![M::up(VERSION_1)])
            .to_latest(&mut connection)
            .expect("version 1");
        let log = |kind: &str, article: &str, front_matter: &str| {
            connection
                .execute(
                    "INSERT INTO change_log (kind, commit_time, article_id, key, front_matter, \
                     body, create_time, update_time, etag) VALUES (?1, 0, ?2, ?2, ?3, '', 0, 0, '')",
                    [kind, article, front_matter],
                )
                .expect("a change-log row");
        };
        log("created", "a", "a1");
        log("created", "b", "b1");
        log("updated", "a", "a2");
        log("updated", "a", "a3");
        log("deleted", "b", "b1");
        migrations().to_latest(&mut connection).expect("version 2");
        let previous: Vec<Option<String>> = connection
            .prepare("SELECT previous_front_matter FROM change_log ORDER BY revision")
            .and_then(|mut statement| {
                statement
                    .query_map([], |row| row.get(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .expect("read back");
        assert_eq!(
            previous,
            vec![None, None, Some("a1".into()), Some("a2".into()), None]
        );
        let mark: i64 = connection
            .query_row(
                "SELECT compacted_through FROM change_log_compaction",
                [],
                |row| row.get(0),
            )
            .expect("the compaction mark");
        assert_eq!(mark, 0);
    }

    /// Version 5 keeps every encoding, now under its article's order key,
    /// and a deleted article's encoding still goes with it.
    #[test]
    fn version_5_keys_the_encodings_by_order() {
        let mut connection = rusqlite::Connection::open_in_memory().expect("a database");
        connection
            .pragma_update(None, "foreign_keys", "ON")
            .expect("foreign keys on");
        Migrations::new(vec![
            M::up(VERSION_1),
            M::up(VERSION_2),
            M::up(VERSION_3),
            M::up_with_hook(VERSION_4, reserve_existing_encodings),
        ])
        .to_latest(&mut connection)
        .expect("version 4");
        // Stored newest first, so that storage order is not the key's.
        for (index, published_at) in [(1_i64, 300_i64), (2, 100), (3, 200)] {
            connection
                .execute(
                    "INSERT INTO articles (seq, id, key, front_matter, body, published_at, \
                     published_nanos, sort_heat, sort_quality, create_time, update_time, \
                     revision, etag) VALUES (?1, ?2, ?3, '{}', '', ?4, 0, 0, 0, 1, 2, 3, 'e')",
                    rusqlite::params![
                        index,
                        crate::article::ArticleId::generate().to_string(),
                        format!("article-{index}"),
                        published_at
                    ],
                )
                .expect("an article row");
            connection
                .execute(
                    "INSERT INTO encoded_articles (seq, article) VALUES (?1, ?2)",
                    rusqlite::params![index, vec![u8::try_from(index).expect("small"); 3]],
                )
                .expect("an encoding");
        }

        migrations().to_latest(&mut connection).expect("version 5");
        let encodings = |connection: &rusqlite::Connection| {
            connection
                .prepare(
                    "SELECT e.published_at, e.seq, e.article, e.id = a.id FROM encoded_articles e \
                     JOIN articles a ON a.seq = e.seq ORDER BY e.published_at, e.id",
                )
                .and_then(|mut statement| {
                    statement
                        .query_map([], |row| {
                            Ok((
                                row.get::<_, i64>(0)?,
                                row.get::<_, i64>(1)?,
                                row.get::<_, Vec<u8>>(2)?,
                                row.get::<_, bool>(3)?,
                            ))
                        })?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .expect("the encodings read")
        };
        assert_eq!(
            encodings(&connection),
            [
                (100, 2, vec![2; 3], true),
                (200, 3, vec![3; 3], true),
                (300, 1, vec![1; 3], true),
            ]
        );
        connection
            .execute("DELETE FROM articles WHERE seq = 3", [])
            .expect("a delete");
        assert_eq!(encodings(&connection).len(), 2);
        let all: i64 = connection
            .query_row("SELECT count(*) FROM encoded_articles", [], |row| {
                row.get(0)
            })
            .expect("a count");
        assert_eq!(all, 2, "the deleted article's encoding went with it");
    }

    /// Version 4 reserves an encoding for each article already stored, and
    /// the re-encoding at open (no encoder recorded before version 6)
    /// writes it as the encoder encodes the article that `get` reads back.
    #[test]
    fn articles_stored_before_version_4_are_encoded_at_open() {
        use crate::article::{ArticleContent, ArticleId, Lookup};
        use crate::store::ArticleEncoder;
        use crate::store::encoded::DebugEncoder;

        let mut connection = rusqlite::Connection::open_in_memory().expect("a database");
        Migrations::new(vec![M::up(VERSION_1), M::up(VERSION_2), M::up(VERSION_3)])
            .to_latest(&mut connection)
            .expect("version 3");
        let content: ArticleContent = serde_json::from_value(serde_json::json!({
            "title": "Stored before version 4",
            "publishedDateTime": "2026-01-02T03:04:05Z",
            "topics": ["AI", "Power Apps"],
            "provider": {"name": "Ünïcödé", "domain": "example.org"},
            "heat": 7,
            "somethingElse": {"kept": [1, 2.5, "three"]},
        }))
        .expect("valid front matter");
        let id = ArticleId::generate();
        connection
            .execute(
                "INSERT INTO articles (id, key, front_matter, body, published_at, \
                 published_nanos, sort_heat, sort_quality, create_time, update_time, \
                 revision, etag) VALUES (?1, 'old', ?2, 'The body.', 0, 0, 7, 0, 1, 2, 3, 'e')",
                rusqlite::params![id.to_string(), content.front_matter_json()],
            )
            .expect("an article row");

        migrations().to_latest(&mut connection).expect("version 4");
        let placeholder: Vec<u8> = connection
            .query_row("SELECT article FROM encoded_articles", [], |row| row.get(0))
            .expect("the article has an encoding's row");
        assert!(placeholder.is_empty());
        super::super::reencode::bring_up_to_date(&mut connection, &DebugEncoder)
            .expect("the re-encoding");
        let encoded: Vec<u8> = connection
            .query_row("SELECT article FROM encoded_articles", [], |row| row.get(0))
            .expect("the article was encoded");
        let stored = super::super::reads::get(&connection, &Lookup::Id(id))
            .expect("the article reads")
            .expect("the article exists");
        assert_eq!(encoded, DebugEncoder.encode(stored));
    }
}
