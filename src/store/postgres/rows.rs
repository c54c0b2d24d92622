//! Conversions between PostgreSQL rows and domain values.

use tokio_postgres::Row;
use uuid::Uuid;

use super::errors::{Failure, PostgresContext};
use crate::article::{Article, ArticleContent, ArticleId, Etag, Revision};
use crate::error::Error;
use crate::store::columns::{self, stored_key};
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
        kind: ChangeKind::from_column_name(kind, "changes.kind")?,
        commit_time: row.try_get(2).context(doing)?,
        id: article.id,
        key: article.key.clone(),
        article,
    })
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
    Ok(columns::stored_id(&id.hyphenated().to_string())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_survive_the_trip_through_uuid() {
        let id = ArticleId::generate();
        let uuid = uuid_of(id).expect("an id is a UUID");
        assert_eq!(stored_id(uuid).expect("a UUID is an id"), id);
    }
}
