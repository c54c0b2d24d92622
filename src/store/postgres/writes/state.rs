//! Finding the stored articles a write targets, locked until its
//! transaction ends.

use deadpool_postgres::Transaction;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::article::{ArticleContent, ArticleKey, Etag, Lookup, Revision};
use crate::store::columns::stored_key;
use crate::store::postgres::errors::{Failure, PostgresContext};
use crate::store::postgres::rows::{stored_id, uuid_of};
use crate::store::stored_state::{not_found, url_target};

/// A stored article without its content, found again by its `uuid`.
pub(super) type StoredState = crate::store::stored_state::StoredState<Uuid>;

/// The columns `read_state` expects, in order.
const STATE_COLUMNS: &str = "id, key, create_time, update_time, revision, etag";

/// Reads the `STATE_COLUMNS` of `row`.
fn read_state(row: &tokio_postgres::Row) -> Result<StoredState, Failure> {
    let doing = "reading an article to write";
    let uuid: Uuid = row.try_get(0).context(doing)?;
    let key: &str = row.try_get(1).context(doing)?;
    Ok(StoredState {
        row_id: uuid,
        id: stored_id(uuid)?,
        key: stored_key(key)?,
        create_time: row.try_get(2).context(doing)?,
        update_time: row.try_get(3).context(doing)?,
        revision: Revision(row.try_get(4).context(doing)?),
        etag: Etag(row.try_get(5).context(doing)?),
    })
}

/// The article a write targets, locked until the transaction ends: by id
/// or key only, since a URL may name several.
pub(super) async fn find_state(
    transaction: &Transaction<'_>,
    target: &Lookup,
) -> Result<StoredState, Failure> {
    let row = find_target_row(transaction, target, false).await?;
    read_state(&row)
}

/// Like `find_state`, with the article's content.
pub(super) async fn find_with_content(
    transaction: &Transaction<'_>,
    target: &Lookup,
) -> Result<(StoredState, ArticleContent), Failure> {
    let row = find_target_row(transaction, target, true).await?;
    let doing = "reading an article to update";
    let front_matter: &str = row.try_get(6).context(doing)?;
    let body: String = row.try_get(7).context(doing)?;
    Ok((
        read_state(&row)?,
        ArticleContent::from_stored(front_matter, body)?,
    ))
}

/// The stored article under `key`, locked, if any.
pub(super) async fn find_state_by_key(
    transaction: &Transaction<'_>,
    key: &ArticleKey,
) -> Result<Option<StoredState>, Failure> {
    find_row(transaction, "key", &key.as_str(), false)
        .await?
        .map(|row| read_state(&row))
        .transpose()
}

/// The stored articles under `keys`, locked until the transaction ends,
/// in key order, so that concurrent batches lock them in the same order.
pub(super) async fn find_states_by_keys(
    transaction: &Transaction<'_>,
    keys: &[&str],
) -> Result<Vec<StoredState>, Failure> {
    let doing = "finding the articles of an import batch";
    let statement = transaction
        .prepare_cached(&format!(
            "SELECT {STATE_COLUMNS} FROM articles WHERE key = ANY($1::text[]) \
             ORDER BY key FOR UPDATE"
        ))
        .await
        .context(doing)?;
    transaction
        .query(&statement, &[&keys])
        .await
        .context(doing)?
        .iter()
        .map(read_state)
        .collect()
}

/// The row of the article `target` names, locked; `NotFound` if none.
async fn find_target_row(
    transaction: &Transaction<'_>,
    target: &Lookup,
    with_content: bool,
) -> Result<tokio_postgres::Row, Failure> {
    let row = match target {
        Lookup::Id(id) => find_row(transaction, "id", &uuid_of(*id)?, with_content).await?,
        Lookup::Key(key) => find_row(transaction, "key", &key.as_str(), with_content).await?,
        Lookup::Url(_) => return Err(Failure::Domain(url_target())),
    };
    row.ok_or_else(|| Failure::Domain(not_found(target)))
}

/// `column` is one of our own column names, never caller input.
async fn find_row(
    transaction: &Transaction<'_>,
    column: &'static str,
    value: &(dyn ToSql + Sync),
    with_content: bool,
) -> Result<Option<tokio_postgres::Row>, Failure> {
    let doing = "finding an article to write";
    let content_columns = if with_content {
        ", front_matter, body"
    } else {
        ""
    };
    let statement = transaction
        .prepare_cached(&format!(
            "SELECT {STATE_COLUMNS}{content_columns} FROM articles WHERE {column} = $1 FOR UPDATE"
        ))
        .await
        .context(doing)?;
    transaction
        .query_opt(&statement, &[value])
        .await
        .context(doing)
}
