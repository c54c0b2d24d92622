//! Writes of one article: create, update and delete, each one transaction
//! retried as a whole.

use deadpool_postgres::Pool;

use super::article_row::{insert_article, update_article};
use super::article_version::ArticleVersion;
use super::change_log::PendingChanges;
use super::state::{find_state, find_with_content};
use super::{begin, checkout, commit, retrying};
use crate::article::{Article, ArticleContent, ArticleId, ArticleKey, ArticlePatch, Etag, Lookup};
use crate::error::Error;
use crate::store::columns::now;
use crate::store::postgres::errors::{Failure, PostgresContext};
use crate::store::{ChangeKind, Deleted};

/// Stores a new article; `AlreadyExists` if the key is taken.
pub(in crate::store::postgres) async fn create(
    pool: &Pool,
    key: &ArticleKey,
    content: &ArticleContent,
) -> Result<Article, Failure> {
    content.validate()?;
    retrying(|| create_once(pool, key, content)).await
}

async fn create_once(
    pool: &Pool,
    key: &ArticleKey,
    content: &ArticleContent,
) -> Result<Article, Failure> {
    let mut client = checkout(pool).await?;
    let transaction = begin(&mut client).await?;
    let time = now();
    let version = ArticleVersion::new(
        ArticleId::generate(),
        key.clone(),
        content.clone(),
        time,
        time,
    )?;
    let change_id = insert_article(&transaction, &version)
        .await?
        .ok_or_else(|| Error::AlreadyExists(key.as_str().to_string()))?;
    let mut pending = PendingChanges::default();
    let position = pending.push(change_id, version.uuid, true);
    let revisions = pending.assign_revisions(&transaction).await?;
    commit(transaction).await?;
    Ok(version.into_article(revisions.of(position)))
}

/// Applies a patch to the article named by `target`.
pub(in crate::store::postgres) async fn update(
    pool: &Pool,
    target: &Lookup,
    patch: &ArticlePatch,
    expected: Option<&Etag>,
) -> Result<Article, Failure> {
    retrying(|| update_once(pool, target, patch, expected)).await
}

async fn update_once(
    pool: &Pool,
    target: &Lookup,
    patch: &ArticlePatch,
    expected: Option<&Etag>,
) -> Result<Article, Failure> {
    let mut client = checkout(pool).await?;
    let transaction = begin(&mut client).await?;
    let (state, content) = find_with_content(&transaction, target).await?;
    state.check_precondition(expected)?;
    let (key, content) = patch.apply(&state.key, &content)?;
    let version = ArticleVersion::new(state.id, key, content, state.create_time, now())?;
    if version.etag == state.etag {
        // Nothing to write; the transaction rolls back as it is dropped.
        return Ok(state.into_article(version.content));
    }
    let change_id = update_article(&transaction, &version).await?;
    let mut pending = PendingChanges::default();
    let position = pending.push(change_id, version.uuid, true);
    let revisions = pending.assign_revisions(&transaction).await?;
    commit(transaction).await?;
    Ok(version.into_article(revisions.of(position)))
}

/// Deletes the article named by `target`.
pub(in crate::store::postgres) async fn delete(
    pool: &Pool,
    target: &Lookup,
    expected: Option<&Etag>,
) -> Result<Deleted, Failure> {
    retrying(|| delete_once(pool, target, expected)).await
}

async fn delete_once(
    pool: &Pool,
    target: &Lookup,
    expected: Option<&Etag>,
) -> Result<Deleted, Failure> {
    let mut client = checkout(pool).await?;
    let transaction = begin(&mut client).await?;
    let state = find_state(&transaction, target).await?;
    state.check_precondition(expected)?;
    let doing = "deleting an article";
    let statement = transaction
        .prepare_cached(
            "WITH removed AS ( \
                 DELETE FROM articles WHERE id = $1 \
                 RETURNING id, key, front_matter, body, create_time, update_time, etag, revision \
             ) \
             INSERT INTO changes (kind, commit_time, article_id, key, front_matter, body, \
                 create_time, update_time, etag, article_revision) \
             SELECT $2, $3, id, key, front_matter, body, create_time, update_time, etag, \
                 revision FROM removed \
             RETURNING change_id",
        )
        .await
        .context(doing)?;
    let row = transaction
        .query_one(
            &statement,
            &[&state.row_id, &ChangeKind::Deleted.column_name(), &now()],
        )
        .await
        .context(doing)?;
    let mut pending = PendingChanges::default();
    let position = pending.push(row.try_get(0).context(doing)?, state.row_id, false);
    let revisions = pending.assign_revisions(&transaction).await?;
    commit(transaction).await?;
    Ok(Deleted {
        id: state.id,
        key: state.key,
        revision: revisions.of(position),
    })
}
