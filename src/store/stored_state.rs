//! What a write learns about the article it targets before changing it,
//! and the checks both stores make on it: that it exists, that the caller's
//! etag (if any) still holds, and that it is named by id or key.

use chrono::{DateTime, Utc};

use crate::article::{Article, ArticleContent, ArticleId, ArticleKey, Etag, Lookup, Revision};
use crate::error::Error;

/// A stored article without its content. `RowId` is how the store finds
/// the row again within the write: SQLite's `seq`, PostgreSQL's `uuid`.
#[derive(Debug, Clone)]
pub(super) struct StoredState<RowId> {
    pub(super) row_id: RowId,
    pub(super) id: ArticleId,
    pub(super) key: ArticleKey,
    pub(super) create_time: DateTime<Utc>,
    pub(super) update_time: DateTime<Utc>,
    pub(super) revision: Revision,
    pub(super) etag: Etag,
}

impl<RowId> StoredState<RowId> {
    /// The stored article, given its content (equal etags mean equal
    /// content, so an unchanged write need not read it back).
    pub(super) fn into_article(self, content: ArticleContent) -> Article {
        Article {
            id: self.id,
            key: self.key,
            content,
            create_time: self.create_time,
            update_time: self.update_time,
            revision: self.revision,
            etag: self.etag,
        }
    }

    /// `Error::EtagMismatch` if `expected` is given and differs.
    pub(super) fn check_precondition(&self, expected: Option<&Etag>) -> Result<(), Error> {
        match expected {
            Some(expected) if *expected != self.etag => Err(Error::EtagMismatch {
                expected: expected.0.clone(),
                actual: self.etag.0.clone(),
            }),
            _ => Ok(()),
        }
    }
}

/// What an update or delete of a missing `target` fails with.
pub(super) fn not_found(target: &Lookup) -> Error {
    Error::NotFound(vec![format!("article {target}")])
}

/// What an update or delete naming its target by URL fails with: a URL may
/// name several articles, so a write names one by id or key.
pub(super) fn url_target() -> Error {
    Error::invalid(
        "target",
        "updates and deletes name an article by id or key, not by URL",
    )
}
