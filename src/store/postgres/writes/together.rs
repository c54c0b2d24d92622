//! Import batches written together: a few statements for a whole batch
//! instead of two round trips per item (see the parent module's "Import
//! batches").

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use deadpool_postgres::{Pool, Transaction};
use uuid::Uuid;

use super::article_version::ArticleVersion;
use super::attempt::{Attempt, Draft, MAX_KEY_RACES, finish, refusal};
use super::change_log::PendingChanges;
use super::state::{StoredState, find_states_by_keys};
use super::version_rows::write_versions;
use super::{begin, checkout};
use crate::article::{ArticleId, Etag};
use crate::error::Error;
use crate::store::UpsertItem;
use crate::store::postgres::errors::{Failure, PostgresContext};

/// One transaction writing the batch together, skipping the items in
/// `refused`: one statement looks up and locks the stored articles of all
/// the batch's keys; then the items are written in rounds, a round being
/// the first waiting item of every key (a key repeated in the batch is
/// written once per round, in order), each round in two pipelined
/// statements (new articles, changed articles). Revisions are assigned, in
/// item order, by the last statement, as for every write.
///
/// Each article is written with the revision it will most likely get (see
/// `RevisionGuess`), so that the last statement rewrites only the rows
/// whose guess was wrong: a second version of every row would cost every
/// index an entry more, and rows as wide as articles rarely fit a HOT
/// update on their page.
pub(super) async fn upsert_together(
    pool: &Pool,
    items: &[UpsertItem],
    refused: &HashMap<usize, Error>,
    time: DateTime<Utc>,
) -> Result<Attempt, Failure> {
    let mut client = checkout(pool).await?;
    let transaction = begin(&mut client).await?;
    let guess = RevisionGuess::read(&transaction).await?;
    let mut batch = Batch::new(items, refused, time, guess);
    while batch.is_waiting() {
        batch.look_up(&transaction).await?;
        let round = batch.plan_round();
        let written = match write_round(&transaction, &batch.planned, &round).await {
            Ok(written) => written,
            Err(failure) if failure.is_retryable() => return Err(failure),
            // Dropping the transaction rolls it back.
            Err(failure) => return refusal(failure).map(Attempt::RefusedTogether),
        };
        batch.record_round(round, &written);
    }
    let (drafts, pending) = batch.into_drafts();
    finish(transaction, drafts, pending).await
}

/// Where the items of a batch written together stand.
struct Batch<'a> {
    items: &'a [UpsertItem],
    time: DateTime<Utc>,
    /// By item.
    planned: Vec<Planned>,
    /// The items still to write, in item order.
    waiting: Vec<usize>,
    /// The article under each key as the transaction last saw it; none if
    /// absent.
    latest: HashMap<String, Latest>,
    /// The keys whose stored articles to look up before the next round.
    to_look_up: Vec<&'a str>,
    /// Look-ups so far; another is needed only when a new key was taken by
    /// a concurrent transaction.
    lookups: usize,
    /// The revision each write is stamped with until the last statement.
    guess: RevisionGuess,
}

impl<'a> Batch<'a> {
    fn new(
        items: &'a [UpsertItem],
        refused: &HashMap<usize, Error>,
        time: DateTime<Utc>,
        guess: RevisionGuess,
    ) -> Self {
        let planned: Vec<Planned> = items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                if refused.contains_key(&index) {
                    return Planned::Settled(Draft::Refused);
                }
                match item.content.validate() {
                    Ok(()) => Planned::Waiting,
                    Err(error) => Planned::Settled(Draft::Failed(error)),
                }
            })
            .collect();
        let waiting: Vec<usize> = (0..items.len())
            .filter(|&index| matches!(planned[index], Planned::Waiting))
            .collect();
        let to_look_up = waiting
            .iter()
            .map(|&index| items[index].key.as_str())
            .collect();
        Self {
            items,
            time,
            planned,
            waiting,
            latest: HashMap::new(),
            to_look_up,
            lookups: 0,
            guess,
        }
    }

    fn is_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Looks up and locks the stored articles of `to_look_up`, if any. After
    /// `MAX_KEY_RACES` look-ups, the items still waiting for them fail:
    /// their keys were created and deleted concurrently again and again.
    async fn look_up(&mut self, transaction: &Transaction<'_>) -> Result<(), Failure> {
        if self.to_look_up.is_empty() {
            return Ok(());
        }
        let keys = std::mem::take(&mut self.to_look_up);
        if self.lookups == MAX_KEY_RACES {
            let (items, planned) = (self.items, &mut self.planned);
            self.waiting.retain(|&index| {
                let key = items[index].key.as_str();
                if !keys.contains(&key) {
                    return true;
                }
                planned[index] = Planned::Settled(Draft::Failed(Error::Unavailable(format!(
                    "the key {key:?} was created and deleted concurrently again and again"
                ))));
                false
            });
            return Ok(());
        }
        self.lookups += 1;
        for key in &keys {
            self.latest.remove(*key);
        }
        for state in find_states_by_keys(transaction, &keys).await? {
            self.latest
                .insert(state.key.as_str().to_string(), Latest::Stored(state));
        }
        Ok(())
    }

    /// Takes the first waiting item of every key out of `waiting` and plans
    /// it; returns them, in item order.
    fn plan_round(&mut self) -> Vec<usize> {
        let mut keys = HashSet::new();
        let (round, later): (Vec<usize>, Vec<usize>) = self
            .waiting
            .iter()
            .partition(|&&index| keys.insert(self.items[index].key.as_str()));
        self.waiting = later;
        for &index in &round {
            let item = &self.items[index];
            self.planned[index] = plan(
                item,
                self.latest.get(item.key.as_str()),
                self.time,
                &mut self.guess,
            );
        }
        round
    }

    /// Takes in what `write_round` wrote (`written`: change ids by
    /// article). An item it did not write waits for another look-up.
    fn record_round(&mut self, round: Vec<usize>, written: &HashMap<Uuid, i64>) {
        for index in round {
            let (version, created) =
                match std::mem::replace(&mut self.planned[index], Planned::Waiting) {
                    Planned::Writing {
                        version, created, ..
                    } => (version, created),
                    other => {
                        self.planned[index] = other;
                        continue;
                    }
                };
            let key = self.items[index].key.as_str();
            match written.get(&version.uuid) {
                Some(&change_id) => {
                    self.latest
                        .insert(key.to_string(), Latest::written_by(index, &version));
                    self.planned[index] = Planned::Written {
                        version,
                        created,
                        change_id,
                    };
                }
                // Its key was created meanwhile by a transaction that has
                // committed: the next look finds it.
                None => {
                    self.to_look_up.push(key);
                    self.waiting.push(index);
                }
            }
        }
        self.waiting.sort_unstable();
    }

    /// Each item's draft, and the changes in item order.
    fn into_drafts(self) -> (Vec<Draft>, PendingChanges) {
        let mut pending = PendingChanges::default();
        let mut positions: Vec<Option<usize>> = vec![None; self.items.len()];
        let mut drafts = Vec::with_capacity(self.items.len());
        for (index, planned) in self.planned.into_iter().enumerate() {
            drafts.push(match planned {
                Planned::Settled(draft) => draft,
                Planned::Written {
                    version,
                    created,
                    change_id,
                } => {
                    let position = pending.push(change_id, version.uuid, true);
                    positions[index] = Some(position);
                    if created {
                        Draft::Created(version, position)
                    } else {
                        Draft::Updated(version, position)
                    }
                }
                // The earlier item was written, so it has a position.
                Planned::Same { version, earlier } => match positions[earlier] {
                    Some(position) => Draft::UnchangedSince(version, position),
                    None => Draft::Failed(unwritten()),
                },
                Planned::Waiting | Planned::Writing { .. } => Draft::Failed(unwritten()),
            });
        }
        (drafts, pending)
    }
}

/// The outcome of an item left unwritten, which `upsert_together`'s loop
/// rules out.
fn unwritten() -> Error {
    Error::Internal("an import item was left unwritten".to_string())
}

/// Where one item of a batch written together stands.
enum Planned {
    /// Its key's article is still to be looked up or written by an earlier
    /// item.
    Waiting,
    /// Done without a write of its own: failed, refused or unchanged.
    Settled(Draft),
    /// To be written in the current round, stamped with `revision` (a
    /// guess until the last statement).
    Writing {
        version: ArticleVersion,
        created: bool,
        revision: i64,
    },
    /// Written, with its `changes` row.
    Written {
        version: ArticleVersion,
        created: bool,
        change_id: i64,
    },
    /// Unchanged from what item `earlier` of the batch wrote.
    Same {
        version: ArticleVersion,
        earlier: usize,
    },
}

/// The article under a key, as the transaction last saw it.
enum Latest {
    /// As stored before the batch, locked.
    Stored(StoredState),
    /// As item `index` of the batch wrote it.
    Written {
        index: usize,
        id: ArticleId,
        create_time: DateTime<Utc>,
        etag: Etag,
    },
}

impl Latest {
    fn written_by(index: usize, version: &ArticleVersion) -> Self {
        Self::Written {
            index,
            id: version.id,
            create_time: version.create_time,
            etag: version.etag.clone(),
        }
    }
}

/// What `item` does given the article under its key (`None`: no article);
/// a write takes the next guessed revision.
fn plan(
    item: &UpsertItem,
    latest: Option<&Latest>,
    time: DateTime<Utc>,
    guess: &mut RevisionGuess,
) -> Planned {
    let (id, create_time) = match latest {
        None => (ArticleId::generate(), time),
        Some(Latest::Stored(state)) => (state.id, state.create_time),
        Some(Latest::Written {
            id, create_time, ..
        }) => (*id, *create_time),
    };
    let version = match ArticleVersion::new(
        id,
        item.key.clone(),
        item.content.clone(),
        create_time,
        time,
    ) {
        Ok(version) => version,
        Err(failure) => return Planned::Settled(Draft::Failed(failure.into_error())),
    };
    // Equal etags mean equal content.
    match latest {
        None => Planned::Writing {
            version,
            created: true,
            revision: guess.next(),
        },
        Some(Latest::Stored(state)) if state.etag == version.etag => Planned::Settled(
            Draft::Unchanged(Box::new(state.clone().into_article(version.content))),
        ),
        Some(Latest::Written { index, etag, .. }) if *etag == version.etag => Planned::Same {
            version,
            earlier: *index,
        },
        Some(_) => Planned::Writing {
            version,
            created: false,
            revision: guess.next(),
        },
    }
}

/// The revisions a batch's writes will most likely get: the counter as
/// the transaction first read it, then one more per write planned. Right
/// whenever no other write commits meanwhile and every write of the first
/// round lands (no key repeated in the batch, no key race), which is an
/// import's usual case; a wrong guess costs only the rewrite of its row by
/// `assign_revisions`, which stamps every article with its real revision.
struct RevisionGuess {
    last: i64,
}

impl RevisionGuess {
    async fn read(transaction: &Transaction<'_>) -> Result<Self, Failure> {
        let doing = "reading the revision counter";
        let statement = transaction
            .prepare_cached("SELECT value FROM revision_counter")
            .await
            .context(doing)?;
        let row = transaction
            .query_one(&statement, &[])
            .await
            .context(doing)?;
        Ok(Self {
            last: row.try_get(0).context(doing)?,
        })
    }

    fn next(&mut self) -> i64 {
        self.last += 1;
        self.last
    }
}

/// Writes the items of one round (distinct keys) that `planned` marks
/// `Writing`: the new articles in one statement, the changed ones in
/// another, pipelined on the connection. Returns the `changes` row of each
/// article written, by id; a new article whose key a committed transaction
/// took meanwhile is missing.
async fn write_round(
    transaction: &Transaction<'_>,
    planned: &[Planned],
    round: &[usize],
) -> Result<HashMap<Uuid, i64>, Failure> {
    let mut new = Vec::new();
    let mut changed = Vec::new();
    for &index in round {
        if let Planned::Writing {
            version,
            created,
            revision,
        } = &planned[index]
        {
            if *created {
                new.push((version, *revision));
            } else {
                changed.push((version, *revision));
            }
        }
    }
    // Concurrent batches then insert their new keys in the same order, so
    // they wait for each other rather than deadlock.
    new.sort_unstable_by(|(left, _), (right, _)| left.key.cmp(&right.key));
    let (inserted, updated) = futures::future::try_join(
        write_versions(transaction, true, &new),
        write_versions(transaction, false, &changed),
    )
    .await?;
    Ok(inserted.into_iter().chain(updated).collect())
}
