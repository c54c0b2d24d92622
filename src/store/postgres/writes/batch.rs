//! An import batch: each item created or replaced by key, in order, all in
//! one transaction, each item succeeding or failing alone (see the parent
//! module's "Import batches").

use std::collections::HashMap;

use deadpool_postgres::Pool;

use super::attempt::Attempt;
use super::one_by_one::upsert_one_by_one;
use super::retrying;
use super::together::upsert_together;
use crate::error::Error;
use crate::store::columns::now;
use crate::store::postgres::errors::Failure;
use crate::store::{UpsertItem, UpsertOutcome};

/// Creates or replaces each item by key, in order, in one transaction.
///
/// The batch is first written together (`together::upsert_together`: a handful of
/// statements for the whole batch). If PostgreSQL refuses one of those
/// statements, which item it choked on is unknown, so the batch runs again
/// item by item (`upsert_one_by_one`) to find it; that item is reported in
/// its slot, and the rest are written together again without it (see the
/// module documentation).
pub(in crate::store::postgres) async fn upsert_batch(
    pool: &Pool,
    items: &[UpsertItem],
) -> Result<Vec<Result<UpsertOutcome, Error>>, Failure> {
    let time = now();
    let mut refused: HashMap<usize, Error> = HashMap::new();
    let mut together = true;
    loop {
        let attempt = if together {
            retrying(|| upsert_together(pool, items, &refused, time)).await?
        } else {
            retrying(|| upsert_one_by_one(pool, items, &refused, time)).await?
        };
        match attempt {
            Attempt::Committed(mut outcomes) => {
                for (index, error) in refused {
                    outcomes[index] = Err(error);
                }
                return Ok(outcomes);
            }
            Attempt::RefusedTogether(error) => {
                tracing::debug!(%error, "PostgreSQL refused part of an import batch; running it item by item");
                together = false;
            }
            Attempt::Refused(index, error) => {
                tracing::debug!(index, %error, "an import item was refused; running the batch without it");
                refused.insert(index, error);
                together = true;
            }
        }
    }
}
