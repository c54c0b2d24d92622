//! Conversions between PostgreSQL rows and domain values.

use chrono::{DateTime, SubsecRound, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

use super::errors::{Failure, PostgresContext};
use super::schema::MAX_LEXEME_BYTES;
use crate::article::{Article, ArticleContent, ArticleId, ArticleKey, Etag, Revision};
use crate::error::Error;
use crate::query::{SortField, search_words};
use crate::store::{Change, ChangeKind};

/// The columns `read_article` expects, in order, from `articles a`.
pub(super) const ARTICLE_COLUMNS: &str =
    "a.id, a.key, a.front_matter, a.body, a.create_time, a.update_time, a.revision, a.etag";

/// Reads the `ARTICLE_COLUMNS` of `row`, starting at column `first`.
pub(super) fn read_article(row: &Row, first: usize) -> Result<Article, Failure> {
    let doing = "reading an article row";
    let id: Uuid = row.try_get(first).context(doing)?;
    let key: &str = row.try_get(first + 1).context(doing)?;
    let front_matter: &str = row.try_get(first + 2).context(doing)?;
    let body: String = row.try_get(first + 3).context(doing)?;
    Ok(Article {
        id: stored_id(id)?,
        key: stored_key(key)?,
        content: ArticleContent::from_stored(front_matter, body)?,
        create_time: row.try_get(first + 4).context(doing)?,
        update_time: row.try_get(first + 5).context(doing)?,
        revision: Revision(row.try_get(first + 6).context(doing)?),
        etag: Etag(row.try_get(first + 7).context(doing)?),
    })
}

/// The columns `read_change` expects, in order, from `change_log l JOIN
/// changes c`.
pub(super) const CHANGE_COLUMNS: &str = "l.revision, c.kind, c.commit_time, c.article_id, \
     c.key, c.front_matter, c.body, c.create_time, c.update_time, \
     COALESCE(c.article_revision, l.revision), c.etag, c.previous_front_matter";

/// Reads the `CHANGE_COLUMNS` of `row`.
pub(super) fn read_change(row: &Row) -> Result<Change, Failure> {
    let doing = "reading a change-log row";
    let kind: &str = row.try_get(1).context(doing)?;
    // Columns 3 to 10 are an article's, in `ARTICLE_COLUMNS` order.
    let article = read_article(row, 3)?;
    let previous_front_matter: Option<&str> = row.try_get(11).context(doing)?;
    let before = previous_front_matter
        .map(|front_matter| ArticleContent::from_stored(front_matter, String::new()))
        .transpose()?;
    Ok(Change {
        before,
        revision: Revision(row.try_get(0).context(doing)?),
        kind: change_kind_from_column(kind)?,
        commit_time: row.try_get(2).context(doing)?,
        id: article.id,
        key: article.key.clone(),
        article,
    })
}

/// How a change kind is spelled in `changes.kind`.
pub(super) fn change_kind_column(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Created => "created",
        ChangeKind::Updated => "updated",
        ChangeKind::Deleted => "deleted",
    }
}

fn change_kind_from_column(text: &str) -> Result<ChangeKind, Failure> {
    match text {
        "created" => Ok(ChangeKind::Created),
        "updated" => Ok(ChangeKind::Updated),
        "deleted" => Ok(ChangeKind::Deleted),
        other => Err(Failure::Domain(Error::Internal(format!(
            "changes.kind holds {other:?}, not a change kind"
        )))),
    }
}

/// The `uuid` an id is stored as. (`ArticleId` keeps its `Uuid` private;
/// its text form is the way across.)
pub(super) fn uuid_of(id: ArticleId) -> Result<Uuid, Failure> {
    Uuid::parse_str(&id.to_string()).map_err(|error| {
        Failure::Domain(Error::Internal(format!(
            "article id {id} is not a UUID: {error}"
        )))
    })
}

/// An id read back from the database.
pub(super) fn stored_id(id: Uuid) -> Result<ArticleId, Failure> {
    ArticleId::parse(&id.hyphenated().to_string(), "id").map_err(|error| {
        Failure::Domain(Error::Internal(format!(
            "stored article id {id} is invalid: {error}"
        )))
    })
}

/// A key read back from the database; a bad one is a broken invariant.
pub(super) fn stored_key(text: &str) -> Result<ArticleKey, Failure> {
    ArticleKey::parse(text, "key").map_err(|error| {
        Failure::Domain(Error::Internal(format!(
            "stored key {text:?} is invalid: {error}"
        )))
    })
}

/// The current time at the precision the stores keep (microseconds), so
/// what a write returns equals what a later read returns.
pub(super) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The nanoseconds of `time` below its whole microsecond (0 to 999), kept
/// beside `published_at` so time bounds compare exactly.
pub(super) fn nanos_below_micros(time: DateTime<Utc>) -> i32 {
    // Below 1,000, so the cast is exact.
    (time.timestamp_subsec_nanos() % 1000) as i32
}

/// The `articles` columns filters and orders read, extracted from content.
pub(super) struct ExtractedColumns<'a> {
    pub(super) published_at: i64,
    pub(super) published_nanos: i32,
    pub(super) sort_heat: i64,
    pub(super) sort_quality: i64,
    pub(super) published: Option<bool>,
    pub(super) category: Option<&'a str>,
    pub(super) kind: Option<&'a str>,
    pub(super) provider_domain: Option<&'a str>,
    /// The words of `search_words`, each cut to `MAX_LEXEME_BYTES`.
    pub(super) search_words: Vec<String>,
    /// Distinct topics and URLs, for the side tables.
    pub(super) topics: Vec<&'a str>,
    pub(super) urls: Vec<&'a str>,
}

impl<'a> ExtractedColumns<'a> {
    pub(super) fn of(content: &'a ArticleContent) -> Self {
        let mut topics: Vec<&str> = content.topics.iter().map(String::as_str).collect();
        topics.sort_unstable();
        topics.dedup();
        Self {
            published_at: content.sort_value(SortField::PublishedDateTime),
            published_nanos: nanos_below_micros(content.published_date_time),
            sort_heat: content.sort_value(SortField::Heat),
            sort_quality: content.sort_value(SortField::Quality),
            published: content.published,
            category: content.category.as_deref(),
            kind: content.kind.as_deref(),
            provider_domain: content
                .provider
                .as_ref()
                .and_then(|provider| provider.domain.as_deref()),
            search_words: stored_search_words(content),
            topics,
            urls: content.urls(),
        }
    }
}

/// The words `ArticleQuery::matches` searches, distinct, each cut to
/// `MAX_LEXEME_BYTES` (see `schema` for why that changes no match).
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

/// The `tsquery` for `text`: every word a quoted prefix term, all
/// required. `None` when the text has no word (then it filters nothing, as
/// in `ArticleQuery::matches`). Words hold only letters and digits; quotes
/// and backslashes are escaped all the same.
pub(super) fn search_query(text: &str) -> Option<String> {
    let words = search_words(text);
    if words.is_empty() {
        return None;
    }
    let terms: Vec<String> = words
        .iter()
        .map(|word| format!("'{}':*", word.replace('\\', "\\\\").replace('\'', "''")))
        .collect();
    Some(terms.join(" & "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_query_quotes_each_word_as_a_prefix() {
        assert_eq!(
            search_query("Power-Apps, ÉTÉ 2020").as_deref(),
            Some("'power':* & 'apps':* & 'été':* & '2020':*")
        );
        assert_eq!(search_query(" -- "), None);
    }

    #[test]
    fn stored_words_are_distinct_and_long_ones_are_cut_on_a_character_boundary() {
        let long_word = "é".repeat(MAX_LEXEME_BYTES);
        let content: ArticleContent = serde_json::from_value(serde_json::json!({
            "title": format!("Power apps power {long_word}"),
            "excerpt": "Apps",
            "publishedDateTime": "2024-01-01T00:00:00Z",
        }))
        .expect("test content");
        let words = stored_search_words(&content);
        let cut = "é".repeat(MAX_LEXEME_BYTES / 2);
        assert_eq!(words, vec!["apps".to_string(), "power".to_string(), cut]);
    }

    #[test]
    fn ids_survive_the_trip_through_uuid() {
        let id = ArticleId::generate();
        let uuid = uuid_of(id).expect("an id is a UUID");
        assert_eq!(stored_id(uuid).expect("a UUID is an id"), id);
    }
}
