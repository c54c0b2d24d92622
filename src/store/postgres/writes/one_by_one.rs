//! An import batch written item after item in one transaction: the way to
//! find which item PostgreSQL refuses when a statement that wrote many
//! items failed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Pool, Transaction};

use super::article_row::{insert_article, update_article};
use super::article_version::ArticleVersion;
use super::attempt::{Attempt, Draft, MAX_KEY_RACES, finish, refusal};
use super::change_log::PendingChanges;
use super::state::find_state_by_key;
use super::{begin, checkout};
use crate::article::ArticleId;
use crate::error::Error;
use crate::store::UpsertItem;
use crate::store::postgres::errors::Failure;

/// One transaction over the batch, item after item, skipping the items in
/// `refused`: the way to find which item PostgreSQL refuses.
pub(super) async fn upsert_one_by_one(
    pool: &Pool,
    items: &[UpsertItem],
    refused: &HashMap<usize, Error>,
    time: DateTime<Utc>,
) -> Result<Attempt, Failure> {
    let mut client = checkout(pool).await?;
    let transaction = begin(&mut client).await?;
    let mut pending = PendingChanges::default();
    let mut drafts: Vec<Draft> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        if refused.contains_key(&index) {
            drafts.push(Draft::Refused);
            continue;
        }
        match upsert_one(&transaction, item, time, &mut pending).await {
            Ok(draft) => drafts.push(draft),
            // Domain failures happen before the item writes anything.
            Err(Failure::Domain(error)) => drafts.push(Draft::Failed(error)),
            Err(failure) if failure.is_retryable() => return Err(failure),
            // Dropping the transaction rolls it back.
            Err(failure) => return refusal(failure).map(|error| Attempt::Refused(index, error)),
        }
    }
    finish(transaction, drafts, pending).await
}

async fn upsert_one(
    transaction: &Transaction<'_>,
    item: &UpsertItem,
    time: DateTime<Utc>,
    pending: &mut PendingChanges,
) -> Result<Draft, Failure> {
    item.content.validate()?;
    for _ in 0..MAX_KEY_RACES {
        let Some(state) = find_state_by_key(transaction, &item.key).await? else {
            let version = ArticleVersion::new(
                ArticleId::generate(),
                item.key.clone(),
                item.content.clone(),
                time,
                time,
            )?;
            match insert_article(transaction, &version).await? {
                Some(change_id) => {
                    let position = pending.push(change_id, version.uuid, true);
                    return Ok(Draft::Created(version, position));
                }
                // Created meanwhile by a transaction that has committed:
                // the next look finds it.
                None => continue,
            }
        };
        let version = ArticleVersion::new(
            state.id,
            item.key.clone(),
            item.content.clone(),
            state.create_time,
            time,
        )?;
        if version.etag == state.etag {
            // Equal etags mean equal content.
            return Ok(Draft::Unchanged(Box::new(
                state.into_article(version.content),
            )));
        }
        let change_id = update_article(transaction, &version).await?;
        let position = pending.push(change_id, version.uuid, true);
        return Ok(Draft::Updated(version, position));
    }
    Err(Failure::Domain(Error::Unavailable(format!(
        "the key {:?} was created and deleted concurrently again and again",
        item.key.as_str()
    ))))
}
