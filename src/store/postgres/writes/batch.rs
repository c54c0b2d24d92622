//! Import batches written together: a few statements for a whole batch
//! instead of two round trips per item (see the parent module's "Import
//! batches").

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use deadpool_postgres::{Pool, Transaction};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::{
    ArticleVersion, Attempt, Draft, MAX_KEY_RACES, PendingChanges, STATE_COLUMNS, StoredState,
    begin, checkout, finish, refusal,
};
use crate::article::{ArticleId, Etag};
use crate::error::Error;
use crate::store::postgres::errors::{Failure, PostgresContext};
use crate::store::postgres::rows::{ExtractedColumns, change_kind_column};
use crate::store::{ChangeKind, UpsertItem};

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

/// The stored articles under `keys`, locked until the transaction ends,
/// in key order, so that concurrent batches lock them in the same order.
async fn find_states_by_keys(
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
        .map(StoredState::read)
        .collect()
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

/// The statements' shared input: the versions as rows (`input`, `$1` to
/// `$16`, and `$22`, the guessed revisions) and their (article, topic) and (article, URL) pairs
/// (`topic_input`, `$17`–`$18`; `url_input`, `$19`–`$20`); see
/// `VersionArrays`. `input` is unnested where it is read rather than
/// materialized, and `written` returns ids only, so that no statement
/// copies a batch's text (megabytes, over `work_mem`) into a tuplestore;
/// the `changes` rows take the articles' columns from `input`.
const VERSIONS_INPUT: &str = "WITH input AS NOT MATERIALIZED ( \
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::bigint[], $7::integer[], $8::bigint[], $9::bigint[], $10::boolean[], \
             $11::text[], $12::text[], $13::text[], $14::timestamptz[], $15::timestamptz[], \
             $16::text[], $22::bigint[]) \
         AS input (id, key, front_matter, body, search_words, published_at, published_nanos, \
             sort_heat, sort_quality, published, category, kind, provider_domain, create_time, \
             update_time, etag, revision) \
     ), topic_input AS ( \
         SELECT * FROM unnest($17::uuid[], $18::text[]) AS topic_input (article_id, topic) \
     ), url_input AS ( \
         SELECT * FROM unnest($19::uuid[], $20::text[]) AS url_input (article_id, url) \
     )";

/// Inserts new articles (`created`; a key taken by a committed article is
/// skipped, a concurrent insert of it waited for) or rewrites stored ones,
/// with their topics, URLs and `changes` rows, in one statement. The
/// revisions are guesses until `assign_revisions`. Returns each written
/// article's `changes` row.
async fn write_versions(
    transaction: &Transaction<'_>,
    created: bool,
    versions: &[(&ArticleVersion, i64)],
) -> Result<Vec<(Uuid, i64)>, Failure> {
    if versions.is_empty() {
        return Ok(Vec::new());
    }
    let (doing, writes, kind) = if created {
        let doing = "inserting the articles of an import batch";
        (doing, INSERT_VERSIONS, ChangeKind::Created)
    } else {
        let doing = "updating the articles of an import batch";
        (doing, UPDATE_VERSIONS, ChangeKind::Updated)
    };
    let statement = transaction
        .prepare_cached(&format!("{VERSIONS_INPUT}, {writes}"))
        .await
        .context(doing)?;
    let arrays = VersionArrays::of(versions);
    let kind = change_kind_column(kind);
    let mut parameters = arrays.parameters().to_vec();
    parameters.push(&kind);
    parameters.push(&arrays.revisions);
    transaction
        .query(&statement, &parameters)
        .await
        .context(doing)?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, tokio_postgres::Error>>()
        .context(doing)
}

/// After `VERSIONS_INPUT`: inserts the new articles; `$21` is the change
/// kind.
const INSERT_VERSIONS: &str = "written AS ( \
         INSERT INTO articles (id, key, front_matter, body, search_words, published_at, \
             published_nanos, sort_heat, sort_quality, published, category, kind, \
             provider_domain, create_time, update_time, revision, etag) \
         SELECT id, key, front_matter, body, array_to_tsvector(string_to_array(search_words, ' ')), \
             published_at, published_nanos, sort_heat, sort_quality, published, category, kind, \
             provider_domain, create_time, update_time, revision, etag \
         FROM input \
         ON CONFLICT ON CONSTRAINT articles_key_unique DO NOTHING \
         RETURNING id \
     ), topics AS ( \
         INSERT INTO article_topics (article_id, topic) \
         SELECT topic_input.article_id, topic_input.topic \
         FROM topic_input JOIN written ON written.id = topic_input.article_id \
     ), urls AS ( \
         INSERT INTO article_urls (article_id, url) \
         SELECT url_input.article_id, url_input.url \
         FROM url_input JOIN written ON written.id = url_input.article_id \
     ) \
     INSERT INTO changes (kind, commit_time, article_id, key, front_matter, body, \
         create_time, update_time, etag) \
     SELECT $21, input.update_time, input.id, input.key, input.front_matter, input.body, \
         input.create_time, input.update_time, input.etag \
     FROM input JOIN written ON written.id = input.id \
     RETURNING article_id, change_id";

/// After `VERSIONS_INPUT`: rewrites stored articles (their keys stay), and
/// replaces only the topics and URLs that changed; each `changes` row keeps
/// the front matter before it. `$21` is the change kind.
const UPDATE_VERSIONS: &str = "previous AS ( \
         SELECT articles.id, articles.front_matter \
         FROM articles JOIN input ON articles.id = input.id \
     ), written AS ( \
         UPDATE articles SET front_matter = input.front_matter, body = input.body, \
             search_words = array_to_tsvector(string_to_array(input.search_words, ' ')), \
             published_at = input.published_at, published_nanos = input.published_nanos, \
             sort_heat = input.sort_heat, sort_quality = input.sort_quality, \
             published = input.published, category = input.category, kind = input.kind, \
             provider_domain = input.provider_domain, update_time = input.update_time, \
             revision = input.revision, etag = input.etag \
         FROM input WHERE articles.id = input.id \
         RETURNING articles.id, articles.key, articles.create_time \
     ), stale_topics AS ( \
         DELETE FROM article_topics AS stored USING input \
         WHERE stored.article_id = input.id AND NOT EXISTS ( \
             SELECT 1 FROM topic_input \
             WHERE topic_input.article_id = stored.article_id AND topic_input.topic = stored.topic) \
     ), topics AS ( \
         INSERT INTO article_topics (article_id, topic) \
         SELECT article_id, topic FROM topic_input ON CONFLICT DO NOTHING \
     ), stale_urls AS ( \
         DELETE FROM article_urls AS stored USING input \
         WHERE stored.article_id = input.id AND NOT EXISTS ( \
             SELECT 1 FROM url_input \
             WHERE url_input.article_id = stored.article_id AND url_input.url = stored.url) \
     ), urls AS ( \
         INSERT INTO article_urls (article_id, url) \
         SELECT article_id, url FROM url_input ON CONFLICT DO NOTHING \
     ) \
     INSERT INTO changes (kind, commit_time, article_id, key, front_matter, body, \
         create_time, update_time, etag, previous_front_matter) \
     SELECT $21, input.update_time, written.id, written.key, input.front_matter, input.body, \
         written.create_time, input.update_time, input.etag, previous.front_matter \
     FROM written JOIN input ON input.id = written.id JOIN previous ON previous.id = written.id \
     RETURNING article_id, change_id";

/// The columns of several article versions as arrays, one element per
/// version (or per topic or URL), for `VERSIONS_INPUT` to `unnest`.
#[derive(Default)]
struct VersionArrays<'a> {
    ids: Vec<Uuid>,
    keys: Vec<&'a str>,
    front_matters: Vec<&'a str>,
    bodies: Vec<&'a str>,
    /// Each version's search words joined by spaces (an array's elements
    /// cannot be arrays of different lengths); a word holds letters and
    /// digits only (`query::search_words`), never a space.
    search_words: Vec<String>,
    published_at: Vec<i64>,
    published_nanos: Vec<i32>,
    sort_heat: Vec<i64>,
    sort_quality: Vec<i64>,
    published: Vec<Option<bool>>,
    categories: Vec<Option<&'a str>>,
    kinds: Vec<Option<&'a str>>,
    provider_domains: Vec<Option<&'a str>>,
    create_times: Vec<DateTime<Utc>>,
    update_times: Vec<DateTime<Utc>>,
    etags: Vec<&'a str>,
    /// Guessed; `$22`.
    revisions: Vec<i64>,
    topic_articles: Vec<Uuid>,
    topics: Vec<&'a str>,
    url_articles: Vec<Uuid>,
    urls: Vec<&'a str>,
}

impl<'a> VersionArrays<'a> {
    fn of(versions: &[(&'a ArticleVersion, i64)]) -> Self {
        let mut arrays = Self::default();
        for &(version, revision) in versions {
            let columns = ExtractedColumns::of(&version.content);
            arrays.ids.push(version.uuid);
            arrays.keys.push(version.key.as_str());
            arrays.front_matters.push(&version.front_matter);
            arrays.bodies.push(&version.content.body);
            arrays.search_words.push(columns.search_words.join(" "));
            arrays.published_at.push(columns.published_at);
            arrays.published_nanos.push(columns.published_nanos);
            arrays.sort_heat.push(columns.sort_heat);
            arrays.sort_quality.push(columns.sort_quality);
            arrays.published.push(columns.published);
            arrays.categories.push(columns.category);
            arrays.kinds.push(columns.kind);
            arrays.provider_domains.push(columns.provider_domain);
            arrays.create_times.push(version.create_time);
            arrays.update_times.push(version.update_time);
            arrays.etags.push(&version.etag.0);
            arrays.revisions.push(revision);
            for topic in columns.topics {
                arrays.topic_articles.push(version.uuid);
                arrays.topics.push(topic);
            }
            for url in columns.urls {
                arrays.url_articles.push(version.uuid);
                arrays.urls.push(url);
            }
        }
        arrays
    }

    /// `$1` to `$20` of `VERSIONS_INPUT`.
    fn parameters(&self) -> [&(dyn ToSql + Sync); 20] {
        [
            &self.ids,
            &self.keys,
            &self.front_matters,
            &self.bodies,
            &self.search_words,
            &self.published_at,
            &self.published_nanos,
            &self.sort_heat,
            &self.sort_quality,
            &self.published,
            &self.categories,
            &self.kinds,
            &self.provider_domains,
            &self.create_times,
            &self.update_times,
            &self.etags,
            &self.topic_articles,
            &self.topics,
            &self.url_articles,
            &self.urls,
        ]
    }
}
