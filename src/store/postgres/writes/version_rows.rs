//! Many article versions written by one statement, as arrays the
//! statement unnests: a round of an import batch written together.

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::article_version::ArticleVersion;
use crate::store::ChangeKind;
use crate::store::postgres::errors::{Failure, PostgresContext};

/// The statements' shared input: the versions as rows (`input`, `$1` to
/// `$16`, and `$22`, the guessed revisions) and their (article, topic) and (article, URL) pairs
/// (`topic_input`, `$17`–`$18`; `url_input`, `$19`–`$20`); see
/// `VersionArrays`. `input` is unnested where it is read rather than
/// materialized, and `written` returns ids only, so that no statement
/// copies a batch's text (megabytes, over `work_mem`) into a tuplestore;
/// the `changes` rows take the articles' columns from `input`.
const VERSIONS_INPUT: &str = "WITH input AS NOT MATERIALIZED ( \
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::bigint[], $7::integer[], $8::bigint[], $9::bigint[], $10::boolean[], \
             $11::text[], $12::text[], $13::text[], $14::timestamptz[], $15::timestamptz[], \
             $16::text[], $22::bigint[]) \
         AS input (id, key, front_matter, body, search_words, published_at, published_nanos, \
             sort_heat, sort_quality, published, category, kind, provider_domain, create_time, \
             update_time, etag, revision) \
     ), topic_input AS ( \
         SELECT * FROM unnest($17::uuid[], $18::text[]) AS topic_input (article_id, topic) \
     ), url_input AS ( \
         SELECT * FROM unnest($19::uuid[], $20::text[]) AS url_input (article_id, url) \
     )";

/// Inserts new articles (`created`; a key taken by a committed article is
/// skipped, a concurrent insert of it waited for) or rewrites stored ones,
/// with their topics, URLs and `changes` rows, in one statement. The
/// revisions are guesses until `assign_revisions`. Returns each written
/// article's `changes` row.
pub(super) async fn write_versions(
    transaction: &Transaction<'_>,
    created: bool,
    versions: &[(&ArticleVersion, i64)],
) -> Result<Vec<(Uuid, i64)>, Failure> {
    if versions.is_empty() {
        return Ok(Vec::new());
    }
    let (doing, writes, kind) = if created {
        let doing = "inserting the articles of an import batch";
        (doing, INSERT_VERSIONS, ChangeKind::Created)
    } else {
        let doing = "updating the articles of an import batch";
        (doing, UPDATE_VERSIONS, ChangeKind::Updated)
    };
    let statement = transaction
        .prepare_cached(&format!("{VERSIONS_INPUT}, {writes}"))
        .await
        .context(doing)?;
    let arrays = VersionArrays::of(versions);
    let kind = kind.column_name();
    let mut parameters = arrays.parameters().to_vec();
    parameters.push(&kind);
    parameters.push(&arrays.revisions);
    transaction
        .query(&statement, &parameters)
        .await
        .context(doing)?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, tokio_postgres::Error>>()
        .context(doing)
}

/// After `VERSIONS_INPUT`: inserts the new articles; `$21` is the change
/// kind.
const INSERT_VERSIONS: &str = "written AS ( \
         INSERT INTO articles (id, key, front_matter, body, search_words, published_at, \
             published_nanos, sort_heat, sort_quality, published, category, kind, \
             provider_domain, create_time, update_time, revision, etag) \
         SELECT id, key, front_matter, body, array_to_tsvector(string_to_array(search_words, ' ')), \
             published_at, published_nanos, sort_heat, sort_quality, published, category, kind, \
             provider_domain, create_time, update_time, revision, etag \
         FROM input \
         ON CONFLICT ON CONSTRAINT articles_key_unique DO NOTHING \
         RETURNING id \
     ), topics AS ( \
         INSERT INTO article_topics (article_id, topic) \
         SELECT topic_input.article_id, topic_input.topic \
         FROM topic_input JOIN written ON written.id = topic_input.article_id \
     ), urls AS ( \
         INSERT INTO article_urls (article_id, url) \
         SELECT url_input.article_id, url_input.url \
         FROM url_input JOIN written ON written.id = url_input.article_id \
     ) \
     INSERT INTO changes (kind, commit_time, article_id, key, front_matter, body, \
         create_time, update_time, etag) \
     SELECT $21, input.update_time, input.id, input.key, input.front_matter, input.body, \
         input.create_time, input.update_time, input.etag \
     FROM input JOIN written ON written.id = input.id \
     RETURNING article_id, change_id";

/// After `VERSIONS_INPUT`: rewrites stored articles (their keys stay), and
/// replaces only the topics and URLs that changed; each `changes` row keeps
/// the front matter before it. `$21` is the change kind.
const UPDATE_VERSIONS: &str = "previous AS ( \
         SELECT articles.id, articles.front_matter \
         FROM articles JOIN input ON articles.id = input.id \
     ), written AS ( \
         UPDATE articles SET front_matter = input.front_matter, body = input.body, \
             search_words = array_to_tsvector(string_to_array(input.search_words, ' ')), \
             published_at = input.published_at, published_nanos = input.published_nanos, \
             sort_heat = input.sort_heat, sort_quality = input.sort_quality, \
             published = input.published, category = input.category, kind = input.kind, \
             provider_domain = input.provider_domain, update_time = input.update_time, \
             revision = input.revision, etag = input.etag \
         FROM input WHERE articles.id = input.id \
         RETURNING articles.id, articles.key, articles.create_time \
     ), stale_topics AS ( \
         DELETE FROM article_topics AS stored USING input \
         WHERE stored.article_id = input.id AND NOT EXISTS ( \
             SELECT 1 FROM topic_input \
             WHERE topic_input.article_id = stored.article_id AND topic_input.topic = stored.topic) \
     ), topics AS ( \
         INSERT INTO article_topics (article_id, topic) \
         SELECT article_id, topic FROM topic_input ON CONFLICT DO NOTHING \
     ), stale_urls AS ( \
         DELETE FROM article_urls AS stored USING input \
         WHERE stored.article_id = input.id AND NOT EXISTS ( \
             SELECT 1 FROM url_input \
             WHERE url_input.article_id = stored.article_id AND url_input.url = stored.url) \
     ), urls AS ( \
         INSERT INTO article_urls (article_id, url) \
         SELECT article_id, url FROM url_input ON CONFLICT DO NOTHING \
     ) \
     INSERT INTO changes (kind, commit_time, article_id, key, front_matter, body, \
         create_time, update_time, etag, previous_front_matter) \
     SELECT $21, input.update_time, written.id, written.key, input.front_matter, input.body, \
         written.create_time, input.update_time, input.etag, previous.front_matter \
     FROM written JOIN input ON input.id = written.id JOIN previous ON previous.id = written.id \
     RETURNING article_id, change_id";

/// The columns of several article versions as arrays, one element per
/// version (or per topic or URL), for `VERSIONS_INPUT` to `unnest`.
#[derive(Default)]
struct VersionArrays<'a> {
    ids: Vec<Uuid>,
    keys: Vec<&'a str>,
    front_matters: Vec<&'a str>,
    bodies: Vec<&'a str>,
    /// Each version's search words joined by spaces (an array's elements
    /// cannot be arrays of different lengths); a word holds letters and
    /// digits only (`query::search_words`), never a space.
    search_words: Vec<String>,
    published_at: Vec<i64>,
    published_nanos: Vec<i32>,
    sort_heat: Vec<i64>,
    sort_quality: Vec<i64>,
    published: Vec<Option<bool>>,
    categories: Vec<Option<&'a str>>,
    kinds: Vec<Option<&'a str>>,
    provider_domains: Vec<Option<&'a str>>,
    create_times: Vec<DateTime<Utc>>,
    update_times: Vec<DateTime<Utc>>,
    etags: Vec<&'a str>,
    /// Guessed; `$22`.
    revisions: Vec<i64>,
    topic_articles: Vec<Uuid>,
    topics: Vec<&'a str>,
    url_articles: Vec<Uuid>,
    urls: Vec<&'a str>,
}

impl<'a> VersionArrays<'a> {
    fn of(versions: &[(&'a ArticleVersion, i64)]) -> Self {
        let mut arrays = Self::default();
        for &(version, revision) in versions {
            let columns = version.columns();
            let extracted = &columns.extracted;
            arrays.ids.push(version.uuid);
            arrays.keys.push(version.key.as_str());
            arrays.front_matters.push(&version.front_matter);
            arrays.bodies.push(&version.content.body);
            arrays.search_words.push(columns.search_words.join(" "));
            arrays.published_at.push(extracted.published_at);
            arrays.published_nanos.push(extracted.published_nanos);
            arrays.sort_heat.push(extracted.sort_heat);
            arrays.sort_quality.push(extracted.sort_quality);
            arrays.published.push(extracted.published);
            arrays.categories.push(extracted.category);
            arrays.kinds.push(extracted.kind);
            arrays.provider_domains.push(extracted.provider_domain);
            arrays.create_times.push(version.create_time);
            arrays.update_times.push(version.update_time);
            arrays.etags.push(&version.etag.0);
            arrays.revisions.push(revision);
            for topic in columns.topics {
                arrays.topic_articles.push(version.uuid);
                arrays.topics.push(topic);
            }
            for url in columns.urls {
                arrays.url_articles.push(version.uuid);
                arrays.urls.push(url);
            }
        }
        arrays
    }

    /// `$1` to `$20` of `VERSIONS_INPUT`.
    fn parameters(&self) -> [&(dyn ToSql + Sync); 20] {
        [
            &self.ids,
            &self.keys,
            &self.front_matters,
            &self.bodies,
            &self.search_words,
            &self.published_at,
            &self.published_nanos,
            &self.sort_heat,
            &self.sort_quality,
            &self.published,
            &self.categories,
            &self.kinds,
            &self.provider_domains,
            &self.create_times,
            &self.update_times,
            &self.etags,
            &self.topic_articles,
            &self.topics,
            &self.url_articles,
            &self.urls,
        ]
    }
}
