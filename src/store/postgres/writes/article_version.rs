//! An article as one write stores it, and the columns it fills: what
//! `article_row` writes for one article and `version_rows` for many.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::article::{Article, ArticleContent, ArticleId, ArticleKey, Etag, Revision};
use crate::store::columns::ExtractedColumns;
use crate::store::postgres::errors::Failure;
use crate::store::postgres::rows::uuid_of;
use crate::store::postgres::search_index::stored_search_words;

/// An article as one write stores it, with its serialized forms computed
/// once.
pub(super) struct ArticleVersion {
    pub(super) id: ArticleId,
    pub(super) uuid: Uuid,
    pub(super) key: ArticleKey,
    pub(super) content: ArticleContent,
    pub(super) front_matter: String,
    pub(super) create_time: DateTime<Utc>,
    pub(super) update_time: DateTime<Utc>,
    pub(super) etag: Etag,
}

impl ArticleVersion {
    pub(super) fn new(
        id: ArticleId,
        key: ArticleKey,
        content: ArticleContent,
        create_time: DateTime<Utc>,
        update_time: DateTime<Utc>,
    ) -> Result<Self, Failure> {
        let etag = content.etag(&key);
        let front_matter = content.front_matter_json();
        Ok(Self {
            id,
            uuid: uuid_of(id)?,
            key,
            content,
            front_matter,
            create_time,
            update_time,
            etag,
        })
    }

    pub(super) fn into_article(self, revision: Revision) -> Article {
        Article {
            id: self.id,
            key: self.key,
            content: self.content,
            create_time: self.create_time,
            update_time: self.update_time,
            revision,
            etag: self.etag,
        }
    }

    /// The columns this version fills beside its text.
    pub(super) fn columns(&self) -> VersionColumns<'_> {
        let mut topics: Vec<&str> = self.content.topics.iter().map(String::as_str).collect();
        topics.sort_unstable();
        topics.dedup();
        VersionColumns {
            extracted: ExtractedColumns::of(&self.content),
            search_words: stored_search_words(&self.content),
            topics,
            urls: self.content.urls(),
        }
    }
}

/// What a version stores beside its text: the columns both stores extract,
/// its search words, and the rows of its side tables.
pub(super) struct VersionColumns<'a> {
    pub(super) extracted: ExtractedColumns<'a>,
    /// The words of `search_words`, each cut to `MAX_LEXEME_BYTES`.
    pub(super) search_words: Vec<String>,
    /// Distinct topics and URLs, for the side tables.
    pub(super) topics: Vec<&'a str>,
    pub(super) urls: Vec<&'a str>,
}
