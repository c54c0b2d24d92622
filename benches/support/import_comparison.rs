//! The import comparison: the input through ImportArticles, through
//! rusqlite in one transaction, and through rusqlite grouped as the store
//! groups it (a diagnostic), each into a fresh database, in rotating order.

use anyhow::bail;

use super::corpus::SourcedDocument;
use super::import::{self, ImportOutcome};
use super::process::PinnedChild;
use super::report::{median, progress, rate, ratio, ratio_with_spread};

/// The ways an import round writes the input, in report order.
const IMPORT_SERVICE: usize = 0;
const IMPORT_RAW: usize = 1;
const IMPORT_RAW_LIKE_THE_STORE: usize = 2;
const IMPORT_NAMES: [&str; 3] = [
    "ImportArticles",
    "rusqlite, one transaction",
    "rusqlite, a commit per import batch (diagnostic)",
];

/// The import comparison over one input: `rounds[round][way]`, ways
/// indexed as `IMPORT_NAMES`, each into a fresh database.
pub struct ImportRounds {
    input: &'static str,
    rounds: Vec<Vec<ImportOutcome>>,
}

/// Measures `round_count` rounds of importing `documents` (named `input`:
/// `corpus` or `history`, as `raw-insert` reads them) every way.
pub async fn measure(
    round_count: usize,
    input: &'static str,
    documents: &[SourcedDocument],
) -> anyhow::Result<ImportRounds> {
    let requests = import::requests(documents);
    let mut rounds = Vec::with_capacity(round_count);
    for round in 0..round_count {
        progress(&format!("import {input}, round {}", round + 1));
        let mut outcomes = Vec::with_capacity(IMPORT_NAMES.len());
        for turn in 0..IMPORT_NAMES.len() {
            // Rotate who goes first, as for GetArticle.
            let way = (round + turn) % IMPORT_NAMES.len();
            let data = tempfile::tempdir()?;
            let data_path = data.path().to_string_lossy().into_owned();
            let outcome = match way {
                IMPORT_SERVICE => {
                    let server =
                        PinnedChild::start(&["serve-newswire", "127.0.0.1:0", &data_path])?;
                    let (mut outcome, _) = import::through_service(&server, &requests).await?;
                    server.stop().await?;
                    outcome.commits = import::commits_in(data.path())?;
                    outcome
                }
                IMPORT_RAW => {
                    import::through_rusqlite(&data_path, input, "one-transaction", documents.len())
                        .await?
                }
                _ => {
                    import::through_rusqlite(&data_path, input, "like-the-store", documents.len())
                        .await?
                }
            };
            outcomes.push((way, outcome));
        }
        outcomes.sort_by_key(|(way, _)| *way);
        let outcomes: Vec<ImportOutcome> =
            outcomes.into_iter().map(|(_, outcome)| outcome).collect();
        if let Some(other) = outcomes
            .iter()
            .find(|outcome| outcome.writes != outcomes[IMPORT_SERVICE].writes)
        {
            bail!(
                "{input}: the service wrote {} items, a raw baseline {}",
                outcomes[IMPORT_SERVICE].writes,
                other.writes
            );
        }
        let service = &outcomes[IMPORT_SERVICE];
        println!(
            "import {input} round {}: ImportArticles {} docs/s ({:.3} s, server CPU {:.3} s, {} commits), rusqlite {} docs/s ({:.3} s), like the store {} docs/s ({:.3} s); ratio {}",
            round + 1,
            rate(service.items_per_second()),
            service.elapsed.as_secs_f64(),
            service.server_cpu.as_secs_f64(),
            service.commits,
            rate(outcomes[IMPORT_RAW].items_per_second()),
            outcomes[IMPORT_RAW].elapsed.as_secs_f64(),
            rate(outcomes[IMPORT_RAW_LIKE_THE_STORE].items_per_second()),
            outcomes[IMPORT_RAW_LIKE_THE_STORE].elapsed.as_secs_f64(),
            ratio(service.items_per_second() / outcomes[IMPORT_RAW].items_per_second()),
        );
        rounds.push(outcomes);
    }
    Ok(ImportRounds { input, rounds })
}

impl ImportRounds {
    fn median_of(&self, way: usize, pick: impl Fn(&ImportOutcome) -> f64) -> f64 {
        median(self.rounds.iter().map(|outcomes| pick(&outcomes[way])))
    }

    /// Prints the summary.
    pub fn print(&self) {
        let Some(first) = self.rounds.first() else {
            return;
        };
        println!(
            "Import {} ({} items, {} writes), median of {} rounds (ratios: median of per-round ratios to one rusqlite transaction, lowest..highest):",
            self.input,
            first[IMPORT_SERVICE].items,
            first[IMPORT_SERVICE].writes,
            self.rounds.len()
        );
        for (way, name) in IMPORT_NAMES.iter().enumerate() {
            let ratio_to_raw = ratio_with_spread(self.rounds.iter().map(|outcomes| {
                outcomes[way].items_per_second() / outcomes[IMPORT_RAW].items_per_second()
            }));
            println!(
                "  {name}: {} docs/s, {:.3} s; ratio {}",
                rate(self.median_of(way, ImportOutcome::items_per_second)),
                self.median_of(way, |outcome| outcome.elapsed.as_secs_f64()),
                ratio_to_raw
            );
        }
        println!(
            "  ImportArticles: the server used {:.3} s of CPU over {:.0} commits; target: ImportArticles / rusqlite >= 0.50",
            self.median_of(IMPORT_SERVICE, |outcome| outcome.server_cpu.as_secs_f64()),
            self.median_of(IMPORT_SERVICE, |outcome| outcome.commits as f64),
        );
    }
}
