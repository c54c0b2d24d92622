//! An article as one write stores it: its content, what the store assigns,
//! and the serialized forms computed once per write (`write_version` writes
//! its rows).

use chrono::{DateTime, Utc};

use super::search_index::search_text;
use crate::article::{Article, ArticleContent, ArticleId, ArticleKey, Etag, Revision};
use crate::error::Error;

/// The serialized forms of an article's content under its key, computed
/// once per write: the front-matter JSON serves the size check, the etag,
/// the article row and its change-log entry.
pub(super) struct Serialized {
    pub(super) front_matter: String,
    pub(super) etag: Etag,
    /// What the search index holds for it (`search_text`).
    pub(super) search_text: String,
}

impl Serialized {
    /// Validates `content` (`ArticleContent::validate`) and serializes it.
    pub(super) fn validated(key: &ArticleKey, content: &ArticleContent) -> Result<Self, Error> {
        let front_matter = content.front_matter_json();
        content.validate_with_front_matter_json(&front_matter)?;
        Ok(Self::with_front_matter(key, content, front_matter))
    }

    /// Serializes content that was validated already.
    pub(super) fn of(key: &ArticleKey, content: &ArticleContent) -> Self {
        Self::with_front_matter(key, content, content.front_matter_json())
    }

    fn with_front_matter(key: &ArticleKey, content: &ArticleContent, front_matter: String) -> Self {
        Self {
            etag: content.etag_with_front_matter_json(key, &front_matter),
            front_matter,
            search_text: search_text(content),
        }
    }
}

/// An article as one write stores it, borrowed from the caller.
pub(super) struct ArticleVersion<'a> {
    pub(super) id: ArticleId,
    /// `id` as stored.
    pub(super) id_text: String,
    pub(super) key: &'a ArticleKey,
    pub(super) content: &'a ArticleContent,
    pub(super) serialized: &'a Serialized,
    pub(super) create_time: DateTime<Utc>,
    pub(super) update_time: DateTime<Utc>,
}

impl<'a> ArticleVersion<'a> {
    pub(super) fn new(
        id: ArticleId,
        key: &'a ArticleKey,
        content: &'a ArticleContent,
        serialized: &'a Serialized,
        create_time: DateTime<Utc>,
        update_time: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            id_text: id.to_string(),
            key,
            content,
            serialized,
            create_time,
            update_time,
        }
    }

    /// The article this version is once written at `revision`.
    pub(super) fn article(&self, revision: Revision) -> Article {
        Article {
            id: self.id,
            key: self.key.clone(),
            content: self.content.clone(),
            create_time: self.create_time,
            update_time: self.update_time,
            revision,
            etag: self.serialized.etag.clone(),
        }
    }
}
