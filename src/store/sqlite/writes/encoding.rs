//! Each article's encoding (`encoded_articles`), which StreamArticles sends
//! as it is: rewritten in the transaction of every write to the article,
//! so it always encodes what GetArticle and ListArticles build.

use rusqlite::{Connection, params};

use crate::article::Article;
use crate::error::Error;
use crate::query::SortField;
use crate::store::ArticleEncoder;
use crate::store::sqlite::rows::SqliteContext;

/// Stores the article at `seq` (stored id `id_text`) as `encoder` encodes
/// it (`encoded_articles`, which streams read).
pub(super) fn write_encoded(
    connection: &Connection,
    encoder: &dyn ArticleEncoder,
    seq: i64,
    id_text: &str,
    article: Article,
) -> Result<(), Error> {
    let published_at = article.content.sort_value(SortField::PublishedDateTime);
    let encoded = encoder.encode(article);
    // REPLACE also removes the article's former encoding when its
    // `published_at`, part of the key, changed: it conflicts on `seq`.
    connection
        .prepare_cached(
            "INSERT OR REPLACE INTO encoded_articles (published_at, id, seq, article) \
             VALUES (?1, ?2, ?3, ?4)",
        )
        .and_then(|mut statement| statement.execute(params![published_at, id_text, seq, encoded]))
        .context("storing the encoded article")?;
    Ok(())
}
