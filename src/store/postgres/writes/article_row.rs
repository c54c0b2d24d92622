//! One article version written by one statement, with its topics, URLs
//! and `changes` row: what a single write and an import item written alone
//! do.

use deadpool_postgres::Transaction;
use tokio_postgres::types::ToSql;

use super::article_version::{ArticleVersion, VersionColumns};
use crate::error::Error;
use crate::store::ChangeKind;
use crate::store::postgres::errors::{Failure, PostgresContext};

/// Inserts an article with its topics, URLs and `changes` row, in one
/// statement; `None` if the key is taken (by a committed article: a
/// concurrent insert of the key is waited for). The revision is a
/// placeholder until `assign_revisions`.
pub(super) async fn insert_article(
    transaction: &Transaction<'_>,
    version: &ArticleVersion,
) -> Result<Option<i64>, Failure> {
    let doing = "inserting an article";
    let statement = transaction
        .prepare_cached(
            "WITH written AS ( \
                 INSERT INTO articles (id, key, front_matter, body, search_words, published_at, \
                     published_nanos, sort_heat, sort_quality, published, category, kind, \
                     provider_domain, create_time, update_time, revision, etag) \
                 VALUES ($1, $2, $3, $4, array_to_tsvector($5::text[]), $6, $7, $8, $9, $10, \
                     $11, $12, $13, $14, $14, 0, $15) \
                 ON CONFLICT ON CONSTRAINT articles_key_unique DO NOTHING \
                 RETURNING id, key, front_matter, body, create_time, update_time, etag \
             ), topics AS ( \
                 INSERT INTO article_topics (article_id, topic) \
                 SELECT written.id, topic FROM written, unnest($16::text[]) AS topic \
             ), urls AS ( \
                 INSERT INTO article_urls (article_id, url) \
                 SELECT written.id, url FROM written, unnest($17::text[]) AS url \
             ) \
             INSERT INTO changes (kind, commit_time, article_id, key, front_matter, body, \
                 create_time, update_time, etag) \
             SELECT $18, update_time, id, key, front_matter, body, create_time, update_time, \
                 etag FROM written \
             RETURNING change_id",
        )
        .await
        .context(doing)?;
    let columns = version.columns();
    let parameters = ArticleParameters::new(version, &columns, ChangeKind::Created);
    let row = transaction
        .query_opt(&statement, &parameters.list())
        .await
        .context(doing)?;
    row.map(|row| row.try_get(0).context(doing)).transpose()
}

/// Rewrites an article with its topics and URLs (only those that changed)
/// and inserts its `changes` row, in one statement. `AlreadyExists` if the
/// new key is another article's.
pub(super) async fn update_article(
    transaction: &Transaction<'_>,
    version: &ArticleVersion,
) -> Result<i64, Failure> {
    let doing = "updating an article";
    let statement = transaction
        .prepare_cached(
            "WITH written AS ( \
                 UPDATE articles SET key = $2, front_matter = $3, body = $4, \
                     search_words = array_to_tsvector($5::text[]), published_at = $6, \
                     published_nanos = $7, sort_heat = $8, sort_quality = $9, published = $10, \
                     category = $11, kind = $12, provider_domain = $13, update_time = $14, \
                     etag = $15 \
                 WHERE id = $1 \
                 RETURNING id, key, front_matter, body, create_time, update_time, etag \
             ), previous AS ( \
                 SELECT front_matter FROM articles WHERE id = $1 \
             ), stale_topics AS ( \
                 DELETE FROM article_topics WHERE article_id = $1 AND topic <> ALL($16::text[]) \
             ), topics AS ( \
                 INSERT INTO article_topics (article_id, topic) \
                 SELECT $1, topic FROM unnest($16::text[]) AS topic ON CONFLICT DO NOTHING \
             ), stale_urls AS ( \
                 DELETE FROM article_urls WHERE article_id = $1 AND url <> ALL($17::text[]) \
             ), urls AS ( \
                 INSERT INTO article_urls (article_id, url) \
                 SELECT $1, url FROM unnest($17::text[]) AS url ON CONFLICT DO NOTHING \
             ) \
             INSERT INTO changes (kind, commit_time, article_id, key, front_matter, body, \
                 create_time, update_time, etag, previous_front_matter) \
             SELECT $18, update_time, id, key, front_matter, body, create_time, update_time, \
                 etag, (SELECT front_matter FROM previous) FROM written \
             RETURNING change_id",
        )
        .await
        .context(doing)?;
    let columns = version.columns();
    let parameters = ArticleParameters::new(version, &columns, ChangeKind::Updated);
    let row = transaction
        .query_one(&statement, &parameters.list())
        .await
        .context(doing)
        .map_err(|failure| {
            if failure.is_key_conflict() {
                Failure::Domain(Error::AlreadyExists(version.key.as_str().to_string()))
            } else {
                failure
            }
        })?;
    row.try_get(0).context(doing)
}

/// `$1` to `$18` of `insert_article`'s and `update_article`'s statements,
/// which name the columns in the same order. `$14` is the update time: a
/// new article's create time is the same.
struct ArticleParameters<'a> {
    version: &'a ArticleVersion,
    columns: &'a VersionColumns<'a>,
    key: &'a str,
    kind: &'static str,
}

impl<'a> ArticleParameters<'a> {
    fn new(version: &'a ArticleVersion, columns: &'a VersionColumns<'a>, kind: ChangeKind) -> Self {
        Self {
            version,
            columns,
            key: version.key.as_str(),
            kind: kind.column_name(),
        }
    }

    fn list(&self) -> [&(dyn ToSql + Sync); 18] {
        let (version, columns) = (self.version, self.columns);
        let extracted = &columns.extracted;
        [
            &version.uuid,
            &self.key,
            &version.front_matter,
            &version.content.body,
            &columns.search_words,
            &extracted.published_at,
            &extracted.published_nanos,
            &extracted.sort_heat,
            &extracted.sort_quality,
            &extracted.published,
            &extracted.category,
            &extracted.kind,
            &extracted.provider_domain,
            &version.update_time,
            &version.etag.0,
            &columns.topics,
            &columns.urls,
            &self.kind,
        ]
    }
}
