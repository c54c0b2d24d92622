//! Reads, run on a pooled read-only connection on a blocking thread.

use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::list_sql::{ListRows, list_statement};
use super::rows::{ARTICLE_COLUMNS, ArticleRow, CHANGE_COLUMNS, ChangeRow, SqliteContext};
use crate::article::{Article, Lookup, Revision};
use crate::error::Error;
use crate::query::{Cursor, Page, PageRequest};
use crate::store::columns::stored_id;
use crate::store::{Change, EncodedArticle, EncodedPage};

/// One article by id, key or URL.
pub(super) fn get(connection: &Connection, lookup: &Lookup) -> Result<Option<Article>, Error> {
    let row = match lookup {
        Lookup::Id(id) => connection
            .prepare_cached(&format!(
                "SELECT {ARTICLE_COLUMNS} FROM articles a WHERE a.id = ?1"
            ))
            .and_then(|mut statement| {
                statement
                    .query_row([id.to_string()], ArticleRow::read)
                    .optional()
            }),
        Lookup::Key(key) => connection
            .prepare_cached(&format!(
                "SELECT {ARTICLE_COLUMNS} FROM articles a WHERE a.key = ?1"
            ))
            .and_then(|mut statement| {
                statement
                    .query_row([key.as_str()], ArticleRow::read)
                    .optional()
            }),
        // The most recently published article with the URL; ties go to the
        // greater id.
        Lookup::Url(url) => connection
            .prepare_cached(&format!(
                "SELECT {ARTICLE_COLUMNS} FROM article_urls u \
                 JOIN articles a ON a.seq = u.article_seq WHERE u.url = ?1 \
                 ORDER BY a.published_at DESC, a.published_nanos DESC, a.id DESC LIMIT 1"
            ))
            .and_then(|mut statement| {
                statement
                    .query_row([url.as_str()], ArticleRow::read)
                    .optional()
            }),
    }
    .context("reading an article")?;
    row.map(ArticleRow::into_article).transpose()
}

/// Many articles, from one consistent snapshot.
pub(super) fn get_many(
    connection: &mut Connection,
    lookups: &[Lookup],
) -> Result<Vec<Option<Article>>, Error> {
    let transaction = connection
        .transaction()
        .context("starting a read transaction")?;
    let articles = lookups
        .iter()
        .map(|lookup| get(&transaction, lookup))
        .collect::<Result<Vec<_>, Error>>()?;
    transaction.commit().context("ending a read transaction")?;
    Ok(articles)
}

/// One page of a list.
pub(super) fn list(connection: &Connection, request: &PageRequest) -> Result<Page, Error> {
    let statement = list_statement(request, ListRows::Articles);
    let rows = connection
        .prepare_cached(&statement.sql)
        .and_then(|mut prepared| {
            prepared
                .query_map(params_from_iter(statement.parameters), ArticleRow::read)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .context("listing articles")?;
    let mut articles = rows
        .into_iter()
        .map(ArticleRow::into_article)
        .collect::<Result<Vec<_>, Error>>()?;
    let next = end_page(&mut articles, request, |article| {
        request.order.cursor_of(article)
    });
    Ok(Page { articles, next })
}

/// One page of a list as the stored encodings (`encoded_articles`).
pub(super) fn list_encoded(
    connection: &Connection,
    request: &PageRequest,
) -> Result<EncodedPage, Error> {
    let statement = list_statement(request, ListRows::Encoded);
    let rows = connection
        .prepare_cached(&statement.sql)
        .and_then(|mut prepared| {
            prepared
                .query_map(params_from_iter(statement.parameters), |row| {
                    Ok((row.get(0)?, row.get::<_, String>(1)?, row.get(2)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .context("listing articles")?;
    let mut articles = rows
        .into_iter()
        .map(|(sort_value, id, encoded)| {
            Ok(EncodedArticle {
                cursor: Cursor {
                    sort_value,
                    id: stored_id(&id)?,
                },
                encoded,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let next = end_page(&mut articles, request, |article| article.cursor);
    Ok(EncodedPage { articles, next })
}

/// Cuts `rows`, read with one row more than the page size, to the page,
/// and gives the cursor to the next page if that extra row was there.
fn end_page<T>(
    rows: &mut Vec<T>,
    request: &PageRequest,
    cursor_of: impl Fn(&T) -> Cursor,
) -> Option<Cursor> {
    let size = request.size.get();
    if rows.len() > size {
        rows.truncate(size);
        rows.last().map(cursor_of)
    } else {
        None
    }
}

/// Change-log entries after `after`, oldest first, read in one snapshot
/// with the compaction mark, so that a compaction cannot slip between them.
pub(super) fn changes_since(
    connection: &mut Connection,
    after: Revision,
    limit: usize,
) -> Result<Vec<Change>, Error> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let transaction = connection
        .transaction()
        .context("starting a read transaction")?;
    let compacted_through = compacted_through(&transaction)?;
    if after < compacted_through {
        return Err(Error::RevisionCompacted {
            requested: after.0,
            oldest: compacted_through.0,
        });
    }
    let rows = transaction
        .prepare_cached(&format!(
            "SELECT {CHANGE_COLUMNS} FROM change_log WHERE revision > ?1 \
             ORDER BY revision LIMIT ?2"
        ))
        .and_then(|mut statement| {
            statement
                .query_map(params![after.0, limit], ChangeRow::read)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .context("reading the change log")?;
    transaction.commit().context("ending a read transaction")?;
    rows.into_iter().map(ChangeRow::into_change).collect()
}

/// The highest committed revision, 0 when nothing was ever written. The
/// compaction mark counts too: compaction may have removed every entry.
pub(super) fn current_revision(connection: &Connection) -> Result<Revision, Error> {
    connection
        .prepare_cached(
            "SELECT MAX(COALESCE((SELECT MAX(revision) FROM change_log), 0), \
             (SELECT compacted_through FROM change_log_compaction))",
        )
        .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
        .map(Revision)
        .context("reading the current revision")
}

/// The revision through which the change log may have been compacted.
pub(super) fn compacted_through(connection: &Connection) -> Result<Revision, Error> {
    connection
        .prepare_cached("SELECT compacted_through FROM change_log_compaction")
        .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
        .map(Revision)
        .context("reading the change log's compaction mark")
}
