//! Each article's encoding (`encoded_articles`), which StreamArticles sends
//! as it is: rewritten in the transaction of every write to the article,
//! so it always encodes what GetArticle and ListArticles build.

use rusqlite::{Connection, params};

use super::article_version::ArticleVersion;
use crate::article::{Article, Revision};
use crate::error::Error;
use crate::query::SortField;
use crate::store::ArticleEncoder;
use crate::store::sqlite::rows::SqliteContext;

/// Stores the article at `seq` as `encoder` encodes `version` at
/// `revision` (`encoded_articles`, which streams read).
pub(super) fn write_encoded(
    connection: &Connection,
    encoder: &dyn ArticleEncoder,
    seq: i64,
    version: &ArticleVersion<'_>,
    revision: Revision,
) -> Result<(), Error> {
    let encoded = encoder.encode(Article {
        id: version.id,
        key: version.key.clone(),
        content: version.content.clone(),
        create_time: version.create_time,
        update_time: version.update_time,
        revision,
        etag: version.serialized.etag.clone(),
    });
    // REPLACE also removes the article's former encoding when its
    // `published_at`, part of the key, changed: it conflicts on `seq`.
    connection
        .prepare_cached(
            "INSERT OR REPLACE INTO encoded_articles (published_at, id, seq, article) \
             VALUES (?1, ?2, ?3, ?4)",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                version.content.sort_value(SortField::PublishedDateTime),
                version.id_text,
                seq,
                encoded
            ])
        })
        .context("storing the encoded article")?;
    Ok(())
}
