//! The rows an import of new articles writes, computed up front, and the
//! binary `COPY` that writes them: the import baseline, and the fastest
//! honest way to load a million synthetic articles.
//!
//! The rows are exactly what `src/store/postgres/writes.rs` stores for a
//! created article (the extracted columns, the search words, the change
//! record and its revision), into the schema the store's migrations made.
//! `COPY` cannot set `changes.change_id` (an identity column), so the
//! change log maps revision N to change N, which holds in a fresh database
//! and is checked afterwards.

use std::pin::pin;

use anyhow::{Context, bail};
use bytes::BytesMut;
use chrono::{DateTime, SubsecRound, Utc};
use newswire::article::{ArticleContent, ArticleId, ArticleKey};
use newswire::query::{SortField, search_words};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use uuid::Uuid;

/// Longest stored search word, as `MAX_LEXEME_BYTES` in the store's schema.
const MAX_LEXEME_BYTES: usize = 1024;

/// Everything one created article stores, ready to bind.
#[derive(Debug)]
pub struct ArticleRows {
    id: Uuid,
    key: String,
    front_matter: String,
    body: String,
    search_words: Vec<String>,
    published_at: i64,
    published_nanos: i32,
    sort_heat: i64,
    sort_quality: i64,
    published: Option<bool>,
    category: Option<String>,
    kind: Option<String>,
    provider_domain: Option<String>,
    time: DateTime<Utc>,
    revision: i64,
    etag: String,
    topics: Vec<String>,
    urls: Vec<String>,
}

impl ArticleRows {
    /// The rows of `content` created under `key` with `revision`.
    pub fn of(key: &ArticleKey, content: &ArticleContent, revision: i64) -> anyhow::Result<Self> {
        content.validate()?;
        let mut topics = content.topics.clone();
        topics.sort_unstable();
        topics.dedup();
        let id = Uuid::parse_str(&ArticleId::generate().to_string())?;
        Ok(Self {
            id,
            key: key.as_str().to_string(),
            front_matter: content.front_matter_json(),
            body: content.body.clone(),
            search_words: stored_search_words(content),
            published_at: content.sort_value(SortField::PublishedDateTime),
            published_nanos: (content.published_date_time.timestamp_subsec_nanos() % 1000) as i32,
            sort_heat: content.sort_value(SortField::Heat),
            sort_quality: content.sort_value(SortField::Quality),
            published: content.published,
            category: content.category.clone(),
            kind: content.kind.clone(),
            provider_domain: content
                .provider
                .as_ref()
                .and_then(|provider| provider.domain.clone()),
            time: Utc::now().trunc_subsecs(6),
            revision,
            etag: content.etag(key).0,
            topics,
            urls: content.urls().into_iter().map(str::to_string).collect(),
        })
    }
}

/// The words the store indexes: `search_words(title + " " + excerpt)`,
/// each cut to `MAX_LEXEME_BYTES`, distinct and sorted.
fn stored_search_words(content: &ArticleContent) -> Vec<String> {
    let haystack = format!(
        "{} {}",
        content.title,
        content.excerpt.as_deref().unwrap_or_default()
    );
    let mut words: Vec<String> = search_words(&haystack)
        .into_iter()
        .map(|mut word| {
            if word.len() > MAX_LEXEME_BYTES {
                let mut end = MAX_LEXEME_BYTES;
                while !word.is_char_boundary(end) {
                    end -= 1;
                }
                word.truncate(end);
            }
            word
        })
        .collect();
    words.sort_unstable();
    words.dedup();
    words
}

/// A `tsvector` of distinct, sorted lexemes without positions, in
/// PostgreSQL's binary form (`tsvectorsend`): what `array_to_tsvector`
/// makes of the same words.
#[derive(Debug)]
struct Lexemes<'a>(&'a [String]);

impl ToSql for Lexemes<'_> {
    fn to_sql(
        &self,
        _type: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&i32::try_from(self.0.len())?.to_be_bytes());
        for word in self.0 {
            out.extend_from_slice(word.as_bytes());
            out.extend_from_slice(&[0]);
            out.extend_from_slice(&0_u16.to_be_bytes());
        }
        Ok(IsNull::No)
    }

    fn accepts(postgres_type: &Type) -> bool {
        *postgres_type == Type::TS_VECTOR
    }

    to_sql_checked!();
}

/// Writes `rows` with one binary `COPY` per table, in the caller's
/// transaction (or autocommit), and moves the revision counter to the
/// last revision.
pub async fn copy(client: &tokio_postgres::Client, rows: &[ArticleRows]) -> anyhow::Result<()> {
    let articles = client
        .copy_in(
            "COPY articles (id, key, front_matter, body, search_words, published_at, \
             published_nanos, sort_heat, sort_quality, published, category, kind, \
             provider_domain, create_time, update_time, revision, etag) FROM STDIN BINARY",
        )
        .await?;
    let mut writer = pin!(BinaryCopyInWriter::new(
        articles,
        &[
            Type::UUID,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TS_VECTOR,
            Type::INT8,
            Type::INT4,
            Type::INT8,
            Type::INT8,
            Type::BOOL,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TIMESTAMPTZ,
            Type::TIMESTAMPTZ,
            Type::INT8,
            Type::TEXT,
        ],
    ));
    for row in rows {
        writer
            .as_mut()
            .write(&[
                &row.id,
                &row.key,
                &row.front_matter,
                &row.body,
                &Lexemes(&row.search_words),
                &row.published_at,
                &row.published_nanos,
                &row.sort_heat,
                &row.sort_quality,
                &row.published,
                &row.category,
                &row.kind,
                &row.provider_domain,
                &row.time,
                &row.time,
                &row.revision,
                &row.etag,
            ])
            .await
            .context("COPY articles")?;
    }
    writer.finish().await.context("COPY articles")?;

    copy_side_table(client, "article_topics", "topic", rows, |row| &row.topics).await?;
    copy_side_table(client, "article_urls", "url", rows, |row| &row.urls).await?;

    let changes = client
        .copy_in(
            "COPY changes (kind, commit_time, article_id, key, front_matter, body, \
             create_time, update_time, etag) FROM STDIN BINARY",
        )
        .await?;
    let mut writer = pin!(BinaryCopyInWriter::new(
        changes,
        &[
            Type::TEXT,
            Type::TIMESTAMPTZ,
            Type::UUID,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TIMESTAMPTZ,
            Type::TIMESTAMPTZ,
            Type::TEXT,
        ],
    ));
    for row in rows {
        writer
            .as_mut()
            .write(&[
                &"created",
                &row.time,
                &row.id,
                &row.key,
                &row.front_matter,
                &row.body,
                &row.time,
                &row.time,
                &row.etag,
            ])
            .await
            .context("COPY changes")?;
    }
    writer.finish().await.context("COPY changes")?;

    let log = client
        .copy_in("COPY change_log (revision, change_id) FROM STDIN BINARY")
        .await?;
    let mut writer = pin!(BinaryCopyInWriter::new(log, &[Type::INT8, Type::INT8]));
    for row in rows {
        writer
            .as_mut()
            .write(&[&row.revision, &row.revision])
            .await
            .context("COPY change_log")?;
    }
    writer.finish().await.context("COPY change_log")?;

    if let Some(last) = rows.last() {
        client
            .execute("UPDATE revision_counter SET value = $1", &[&last.revision])
            .await
            .context("moving the revision counter")?;
    }
    Ok(())
}

/// `COPY table (article_id, column)` of each row's `values`.
async fn copy_side_table(
    client: &tokio_postgres::Client,
    table: &str,
    column: &str,
    rows: &[ArticleRows],
    values: fn(&ArticleRows) -> &[String],
) -> anyhow::Result<()> {
    let sink = client
        .copy_in(&format!(
            "COPY {table} (article_id, {column}) FROM STDIN BINARY"
        ))
        .await?;
    let mut writer = pin!(BinaryCopyInWriter::new(sink, &[Type::UUID, Type::TEXT]));
    for row in rows {
        for value in values(row) {
            writer
                .as_mut()
                .write(&[&row.id, value])
                .await
                .with_context(|| format!("COPY {table}"))?;
        }
    }
    writer
        .finish()
        .await
        .with_context(|| format!("COPY {table}"))?;
    Ok(())
}

/// Checks a database loaded by `copy` holds `count` articles whose change
/// log is whole: revision N is change N, for an article of that revision.
pub async fn check(client: &tokio_postgres::Client, count: u64) -> anyhow::Result<()> {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM articles), \
                    (SELECT count(*) FROM change_log l JOIN changes c USING (change_id) \
                        JOIN articles a ON a.id = c.article_id AND a.revision = l.revision), \
                    (SELECT value FROM revision_counter)",
            &[],
        )
        .await?;
    let (articles, logged, counter): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    let expected = i64::try_from(count)?;
    if (articles, logged, counter) != (expected, expected, expected) {
        bail!(
            "after COPY: {articles} articles, {logged} consistent change-log entries, counter at {counter}; expected {count} of each"
        );
    }
    Ok(())
}
