//! The PostgreSQL schema, as an ordered list of migrations applied at
//! start-up, and the runner that applies them.
//!
//! The runner takes a session-level advisory lock (`pg_advisory_lock`)
//! first, so replicas starting together migrate one at a time: the second
//! waits, then finds the work done. Each migration runs in its own
//! transaction together with its row in `schema_migrations` (version, name,
//! SHA-256 of its SQL), so a database is always at a whole version. Append
//! new migrations; never edit one that has shipped: the runner refuses a
//! database whose applied migration differs from the code's. A database
//! at a version newer than the code (a rolling upgrade, an older replica
//! restarting) is used with a warning, so migrations must stay
//! backward-compatible for one release: add columns and tables, do not
//! rename or drop them in the same release that stops using them.
//!
//! # Version 1
//!
//! The semantics are the SQLite store's (see `store::sqlite::schema`).
//!
//! `articles` holds one row per live article: `id` (a `uuid`, whose byte
//! order is `ArticleId`'s order), `key` (unique), `front_matter`
//! (`ArticleContent::front_matter_json`, kept as text so key order
//! survives), `body`, `create_time` and `update_time` (`timestamptz`,
//! microseconds like the domain), `revision` and `etag`; and the extracted
//! copies filters and orders read, as in SQLite: `published_at` (bigint,
//! `sort_value(PublishedDateTime)`: microseconds, floored) and
//! `published_nanos` (the nanoseconds below it), `sort_heat` and
//! `sort_quality` (`i64::MIN` when missing), `published`, `category`, `kind`
//! and `provider_domain`. `fillfactor = 90` leaves room on each page for
//! the second, HOT version a write makes when it receives its revision.
//!
//! `search_words` is a `tsvector` of the article's words as
//! `query::search_words(title + " " + excerpt)` gives them, built with
//! `array_to_tsvector` from the words themselves (each cut to
//! `MAX_LEXEME_BYTES`), not by `to_tsvector`: PostgreSQL's parser would
//! split and fold text its own, locale-dependent way (a Devanagari vowel
//! sign ends a word under most locales), and could disagree with
//! `ArticleQuery::matches`. Queries are `tsquery` values of quoted prefix
//! terms (`'power':* & 'apps':*`), cast from a bound parameter, which
//! likewise parses nothing further. A GIN index serves them.
//!
//! `article_topics` and `article_urls` hold one row per distinct topic and
//! URL, with the article's id; deleting the article deletes them.
//!
//! The change log is two tables, so that the step that takes a revision is
//! short (see `writes` for the mechanism): `changes` holds each write's
//! record (kind, time, the article as written, or as it was for a delete,
//! and for a delete the article's earlier `article_revision`), inserted as
//! the write happens and keyed by an identity `change_id` that says nothing
//! about order; `change_log` maps each revision to its change, inserted in
//! the transaction's last statement. `revision_counter` is the one row
//! that statement increments.
//!
//! Indexes serve every order with its id tiebreak, every equality filter
//! together with the default newest-first order, topic and URL lookups and
//! the foreign keys. The orders are by `published_at` then `id`, without
//! `published_nanos`: the list order is (`sort_value`, id), and
//! `sort_value` is whole microseconds.

use sha2::{Digest, Sha256};

use super::errors::{Failure, PostgresContext};
use crate::error::Error;

/// Longest search word kept in `search_words`, in bytes. A query word is
/// at most `query::MAX_TEXT_BYTES` (256) before lower-casing, which can
/// lengthen text by half, so cutting stored words at 1,024 bytes (on a
/// character boundary) never changes which queries match; PostgreSQL's own
/// limit is 2,047.
pub(super) const MAX_LEXEME_BYTES: usize = 1024;

// Lower-casing can grow text by half (İ → i̇): every query word fits.
const _: () =
    assert!(crate::query::MAX_TEXT_BYTES * 3 / 2 <= MAX_LEXEME_BYTES && MAX_LEXEME_BYTES <= 2047);

/// The advisory lock key of migrations: "newswire" in ASCII.
const MIGRATION_LOCK: i64 = 0x6e65_7773_7769_7265;

/// One schema version.
struct Migration {
    version: i32,
    name: &'static str,
    sql: &'static str,
}

impl Migration {
    fn checksum(&self) -> String {
        Sha256::digest(self.sql.as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

/// Every migration, oldest first.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "articles, topics, urls, search, change log, revision counter",
        sql: VERSION_1,
    },
    Migration {
        version: 2,
        name: "change feed: previous front matter of updates, compaction mark",
        sql: VERSION_2,
    },
];

/// Version 2: the change feed, as in SQLite's version 2 (see
/// `store::sqlite::schema`): `changes.previous_front_matter` (an update's
/// front matter before it, back-filled for existing updates) and the
/// one-row `change_log_compaction`. Temporary indexes keep the back-fill
/// linear in the size of the log.
const VERSION_2: &str = "
ALTER TABLE changes ADD COLUMN previous_front_matter text;

CREATE INDEX changes_backfill ON changes (article_id, change_id);
CREATE INDEX change_log_backfill ON change_log (change_id);
UPDATE changes SET previous_front_matter = (
    SELECT earlier.front_matter
    FROM change_log AS earlier_log
    JOIN changes AS earlier ON earlier.change_id = earlier_log.change_id
    WHERE earlier.article_id = changes.article_id
      AND earlier_log.revision < (SELECT revision FROM change_log WHERE change_id = changes.change_id)
    ORDER BY earlier_log.revision DESC LIMIT 1
) WHERE kind = 'updated';
DROP INDEX changes_backfill;
DROP INDEX change_log_backfill;

CREATE TABLE change_log_compaction (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    compacted_through bigint NOT NULL CHECK (compacted_through >= 0)
);

INSERT INTO change_log_compaction (compacted_through) VALUES (0);
";

/// Version 1: see the module documentation.
const VERSION_1: &str = "
CREATE TABLE articles (
    id uuid PRIMARY KEY,
    key text NOT NULL CONSTRAINT articles_key_unique UNIQUE,
    front_matter text NOT NULL,
    body text NOT NULL,
    search_words tsvector NOT NULL,
    published_at bigint NOT NULL,
    published_nanos integer NOT NULL,
    sort_heat bigint NOT NULL,
    sort_quality bigint NOT NULL,
    published boolean,
    category text,
    kind text,
    provider_domain text,
    create_time timestamptz NOT NULL,
    update_time timestamptz NOT NULL,
    revision bigint NOT NULL,
    etag text NOT NULL
) WITH (fillfactor = 90);

CREATE INDEX articles_by_published_at ON articles (published_at, id);
CREATE INDEX articles_by_heat ON articles (sort_heat, id);
CREATE INDEX articles_by_quality ON articles (sort_quality, id);
CREATE INDEX articles_by_category ON articles (category, published_at, id);
CREATE INDEX articles_by_kind ON articles (kind, published_at, id);
CREATE INDEX articles_by_provider_domain ON articles (provider_domain, published_at, id);
CREATE INDEX articles_by_published ON articles (published, published_at, id);
CREATE INDEX articles_search ON articles USING gin (search_words);

CREATE TABLE article_topics (
    article_id uuid NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    topic text NOT NULL,
    PRIMARY KEY (article_id, topic)
);

CREATE INDEX article_topics_by_topic ON article_topics (topic, article_id);

CREATE TABLE article_urls (
    article_id uuid NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    url text NOT NULL,
    PRIMARY KEY (article_id, url)
);

CREATE INDEX article_urls_by_url ON article_urls (url, article_id);

CREATE TABLE changes (
    change_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('created', 'updated', 'deleted')),
    commit_time timestamptz NOT NULL,
    article_id uuid NOT NULL,
    key text NOT NULL,
    front_matter text NOT NULL,
    body text NOT NULL,
    create_time timestamptz NOT NULL,
    update_time timestamptz NOT NULL,
    etag text NOT NULL,
    article_revision bigint
);

CREATE TABLE change_log (
    revision bigint PRIMARY KEY,
    change_id bigint NOT NULL
);

CREATE TABLE revision_counter (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    value bigint NOT NULL CHECK (value >= 0)
);

INSERT INTO revision_counter (value) VALUES (0);
";

/// Brings the database up to the latest version, under the migration
/// lock. `client` must be a connection of its own, closed afterwards: the
/// lock belongs to its session, so closing it releases the lock even if
/// unlocking failed. Returns the version the database is at.
pub(super) async fn migrate(client: &mut tokio_postgres::Client) -> Result<i32, Failure> {
    // No "already exists, skipping" notices in the log at every start.
    client
        .batch_execute("SET client_min_messages TO warning")
        .await
        .context("preparing to migrate")?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .context("waiting for the migration lock")?;
    let migrated = apply_pending(client).await;
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await
        .context("releasing the migration lock");
    let version = migrated?;
    unlocked?;
    Ok(version)
}

async fn apply_pending(client: &mut tokio_postgres::Client) -> Result<i32, Failure> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )",
        )
        .await
        .context("creating schema_migrations")?;
    let applied: Vec<(i32, String)> = client
        .query("SELECT version, checksum FROM schema_migrations", &[])
        .await
        .context("reading schema_migrations")?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, tokio_postgres::Error>>()
        .context("reading schema_migrations")?;
    let mut version = 0;
    for (applied_version, checksum) in &applied {
        version = version.max(*applied_version);
        match MIGRATIONS
            .iter()
            .find(|migration| migration.version == *applied_version)
        {
            Some(migration) if migration.checksum() != *checksum => {
                return Err(Failure::Domain(Error::Internal(format!(
                    "schema migration {applied_version} ({}) applied to this database differs \
                     from this build's; migrations must never be edited once shipped",
                    migration.name
                ))));
            }
            Some(_) => {}
            None => tracing::warn!(
                version = applied_version,
                "the database has a schema migration this build does not know (a newer \
                 release migrated it); continuing, as migrations stay backward-compatible"
            ),
        }
    }
    for migration in MIGRATIONS {
        if applied
            .iter()
            .any(|(applied_version, _)| *applied_version == migration.version)
        {
            continue;
        }
        let doing = format!("applying schema migration {}", migration.version);
        let transaction = client.transaction().await.context(&doing)?;
        transaction
            .batch_execute(migration.sql)
            .await
            .context(&doing)?;
        transaction
            .execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                &[&migration.version, &migration.name, &migration.checksum()],
            )
            .await
            .context(&doing)?;
        transaction.commit().await.context(&doing)?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied a schema migration"
        );
        version = version.max(migration.version);
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_from_one() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version as usize, index + 1);
        }
    }
}
