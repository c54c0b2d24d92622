//! Reads: each one statement on a shared connection (`shared_reads`), so
//! each sees one snapshot without an explicit transaction.

use std::collections::HashMap;

use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::errors::{Failure, PostgresContext};
use super::list_sql::{Parameter, list_statement};
use super::rows::{ARTICLE_COLUMNS, CHANGE_COLUMNS, read_article, read_change, uuid_of};
use super::shared_reads::SharedReader;
use crate::article::{Article, ArticleId, Lookup, Revision};
use crate::error::Error;
use crate::query::{Page, PageRequest};
use crate::store::Change;

/// The most recently published article with a URL; ties go to the greater
/// id. Exact to the nanosecond, unlike the list order.
const BY_URL_ORDER: &str = "a.published_at DESC, a.published_nanos DESC, a.id DESC";

/// The statement `get` runs for a lookup of this kind.
pub(super) fn get_sql(lookup: &Lookup) -> String {
    match lookup {
        Lookup::Id(_) => format!("SELECT {ARTICLE_COLUMNS} FROM articles a WHERE a.id = $1"),
        Lookup::Key(_) => format!("SELECT {ARTICLE_COLUMNS} FROM articles a WHERE a.key = $1"),
        Lookup::Url(_) => format!(
            "SELECT {ARTICLE_COLUMNS} FROM article_urls u \
             JOIN articles a ON a.id = u.article_id WHERE u.url = $1 \
             ORDER BY {BY_URL_ORDER} LIMIT 1"
        ),
    }
}

/// The one parameter of `get_sql(lookup)`.
pub(super) fn get_parameter(lookup: &Lookup) -> Result<Parameter, Failure> {
    Ok(match lookup {
        Lookup::Id(id) => Box::new(uuid_of(*id)?),
        Lookup::Key(key) => Box::new(key.as_str().to_string()),
        Lookup::Url(url) => Box::new(url.clone()),
    })
}

/// One article by id, key or URL.
pub(super) async fn get(
    client: &SharedReader,
    lookup: &Lookup,
) -> Result<Option<Article>, Failure> {
    let doing = "reading an article";
    let statement = client
        .prepare_cached(&get_sql(lookup))
        .await
        .context(doing)?;
    let parameter = get_parameter(lookup)?;
    let row = client
        .query_opt(&statement, &[parameter.as_ref() as &(dyn ToSql + Sync)])
        .await
        .context(doing)?;
    row.map(|row| read_article(&row, 0)).transpose()
}

/// Many articles, from one snapshot: one statement answers every lookup
/// (ids, keys and URLs each as one array), tagged with what it answers.
pub(super) async fn get_many(
    client: &SharedReader,
    lookups: &[Lookup],
) -> Result<Vec<Option<Article>>, Failure> {
    if lookups.is_empty() {
        return Ok(Vec::new());
    }
    let doing = "reading articles";
    let mut ids: Vec<Uuid> = Vec::new();
    let mut keys: Vec<&str> = Vec::new();
    let mut urls: Vec<&str> = Vec::new();
    for lookup in lookups {
        match lookup {
            Lookup::Id(id) => ids.push(uuid_of(*id)?),
            Lookup::Key(key) => keys.push(key.as_str()),
            Lookup::Url(url) => urls.push(url),
        }
    }
    let statement = client
        .prepare_cached(&format!(
            "SELECT NULL::text, {ARTICLE_COLUMNS} FROM articles a WHERE a.id = ANY($1) \
             UNION ALL \
             SELECT NULL::text, {ARTICLE_COLUMNS} FROM articles a WHERE a.key = ANY($2) \
             UNION ALL \
             SELECT * FROM (SELECT DISTINCT ON (u.url) u.url, {ARTICLE_COLUMNS} \
                 FROM article_urls u JOIN articles a ON a.id = u.article_id \
                 WHERE u.url = ANY($3) ORDER BY u.url, {BY_URL_ORDER}) AS by_url"
        ))
        .await
        .context(doing)?;
    let rows = client
        .query(&statement, &[&ids, &keys, &urls])
        .await
        .context(doing)?;
    let mut by_id: HashMap<ArticleId, Article> = HashMap::new();
    let mut by_url: HashMap<String, Article> = HashMap::new();
    for row in rows {
        let url: Option<String> = row.try_get(0).context(doing)?;
        let article = read_article(&row, 1)?;
        match url {
            Some(url) => {
                by_url.insert(url, article);
            }
            None => {
                by_id.insert(article.id, article);
            }
        }
    }
    let by_key: HashMap<&str, &Article> = by_id
        .values()
        .map(|article| (article.key.as_str(), article))
        .collect();
    Ok(lookups
        .iter()
        .map(|lookup| match lookup {
            Lookup::Id(id) => by_id.get(id).cloned(),
            Lookup::Key(key) => by_key.get(key.as_str()).map(|article| (*article).clone()),
            Lookup::Url(url) => by_url.get(url).cloned(),
        })
        .collect())
}

/// One page of a list.
pub(super) async fn list(client: &SharedReader, request: &PageRequest) -> Result<Page, Failure> {
    let doing = "listing articles";
    let statement = list_statement(request)?;
    let prepared = client.prepare_cached(&statement.sql).await.context(doing)?;
    let rows = client
        .query(&prepared, &statement.parameter_references())
        .await
        .context(doing)?;
    let mut articles = rows
        .iter()
        .map(|row| read_article(row, 0))
        .collect::<Result<Vec<_>, Failure>>()?;
    let size = request.size.get();
    let next = if articles.len() > size {
        articles.truncate(size);
        articles
            .last()
            .map(|article| request.order.cursor_of(article))
    } else {
        None
    };
    Ok(Page { articles, next })
}

/// Change-log entries after `after`, oldest first.
pub(super) async fn changes_since(
    client: &SharedReader,
    after: Revision,
    limit: usize,
) -> Result<Vec<Change>, Failure> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let doing = "reading the change log";
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let statement = client
        .prepare_cached(&format!(
            "SELECT {CHANGE_COLUMNS} FROM change_log l JOIN changes c ON c.change_id = l.change_id \
             WHERE l.revision > $1 ORDER BY l.revision LIMIT $2"
        ))
        .await
        .context(doing)?;
    let rows = client
        .query(&statement, &[&after.0, &limit])
        .await
        .context(doing)?;
    // Read after the rows: a compaction that removed any of what they
    // should have held committed before this read, so it shows here.
    let compacted_through = compacted_through(client).await?;
    if after < compacted_through {
        return Err(Failure::Domain(Error::RevisionCompacted {
            requested: after.0,
            oldest: compacted_through.0,
        }));
    }
    rows.iter().map(read_change).collect()
}

/// The revision through which the change log may have been compacted.
pub(super) async fn compacted_through(client: &SharedReader) -> Result<Revision, Failure> {
    let doing = "reading the change log's compaction mark";
    let statement = client
        .prepare_cached("SELECT compacted_through FROM change_log_compaction")
        .await
        .context(doing)?;
    let row = client.query_one(&statement, &[]).await.context(doing)?;
    Ok(Revision(row.try_get(0).context(doing)?))
}

/// The highest committed revision, 0 when nothing was ever written.
pub(super) async fn current_revision(client: &SharedReader) -> Result<Revision, Failure> {
    let doing = "reading the current revision";
    let statement = client
        .prepare_cached("SELECT value FROM revision_counter")
        .await
        .context(doing)?;
    let row = client.query_one(&statement, &[]).await.context(doing)?;
    Ok(Revision(row.try_get(0).context(doing)?))
}
