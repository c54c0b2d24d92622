//! The tables that find an article by topic (filters) and by URL (lookups).

use rusqlite::{Connection, params};

use crate::article::ArticleContent;
use crate::error::Error;
use crate::store::sqlite::rows::SqliteContext;

/// Topics and URLs of an article, for filters and lookups.
pub(super) fn index_article(
    connection: &Connection,
    seq: i64,
    content: &ArticleContent,
) -> Result<(), Error> {
    if !content.topics.is_empty() {
        let mut statement = connection
            .prepare_cached(
                "INSERT OR IGNORE INTO article_topics (article_seq, topic) VALUES (?1, ?2)",
            )
            .context("indexing topics")?;
        for topic in &content.topics {
            statement
                .execute(params![seq, topic])
                .context("indexing a topic")?;
        }
    }
    let urls = content.urls();
    if !urls.is_empty() {
        let mut statement = connection
            .prepare_cached("INSERT OR IGNORE INTO article_urls (article_seq, url) VALUES (?1, ?2)")
            .context("indexing URLs")?;
        for url in urls {
            statement
                .execute(params![seq, url])
                .context("indexing a URL")?;
        }
    }
    Ok(())
}

/// Removes what `index_article` wrote.
pub(super) fn unindex_article(connection: &Connection, seq: i64) -> Result<(), Error> {
    for sql in [
        "DELETE FROM article_topics WHERE article_seq = ?1",
        "DELETE FROM article_urls WHERE article_seq = ?1",
    ] {
        connection
            .prepare_cached(sql)
            .and_then(|mut statement| statement.execute([seq]))
            .context("removing an article from the indexes")?;
    }
    Ok(())
}
