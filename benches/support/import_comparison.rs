//! The import comparison: the input through ImportArticles, through
//! rusqlite in one transaction, and through rusqlite grouped as the store
//! groups it (a diagnostic), each into a fresh database, in rotating order.

use anyhow::bail;
use newswire::proto::ImportArticlesRequest;

use super::corpus::SourcedDocument;
use super::import::{self, ImportOutcome};
use super::process::PinnedChild;
use super::report::{progress, rate, ratio, target};
use super::rounds::Rounds;

/// The ways an import round writes the input, in report order.
const IMPORT_SERVICE: usize = 0;
const IMPORT_RAW: usize = 1;
const IMPORT_RAW_LIKE_THE_STORE: usize = 2;
const IMPORT_NAMES: [&str; 3] = [
    "ImportArticles",
    "rusqlite, one transaction",
    "rusqlite, a commit per import batch (diagnostic)",
];

/// The import comparison over one input: each way's outcome per round,
/// ways indexed as `IMPORT_NAMES`, each into a fresh database.
pub struct ImportRounds {
    input: &'static str,
    rounds: Rounds<ImportOutcome>,
}

/// Measures `round_count` rounds of importing `documents` (named `input`:
/// `corpus` or `history`, as `raw-insert` reads them) every way.
pub async fn measure(
    round_count: usize,
    input: &'static str,
    documents: &[SourcedDocument],
) -> anyhow::Result<ImportRounds> {
    let requests = import::requests(documents);
    let rounds = Rounds::measure(
        round_count,
        IMPORT_NAMES.len(),
        async |round, way| {
            progress(&format!(
                "import {input}, round {}: {}",
                round + 1,
                IMPORT_NAMES[way]
            ));
            import_once(way, input, documents, &requests).await
        },
        |round, outcomes| print_round(input, round, outcomes),
    )
    .await?;
    Ok(ImportRounds { input, rounds })
}

/// Imports `documents` into a fresh database the `way` named.
async fn import_once(
    way: usize,
    input: &str,
    documents: &[SourcedDocument],
    requests: &[ImportArticlesRequest],
) -> anyhow::Result<ImportOutcome> {
    let data = tempfile::tempdir()?;
    let data_path = data.path().to_string_lossy().into_owned();
    match way {
        IMPORT_SERVICE => {
            let server = PinnedChild::start(&["serve-newswire", "127.0.0.1:0", &data_path])?;
            let (mut outcome, _) = import::through_service(&server, requests).await?;
            server.stop().await?;
            outcome.commits = import::commits_in(data.path())?;
            Ok(outcome)
        }
        IMPORT_RAW => {
            import::through_rusqlite(&data_path, input, "one-transaction", documents.len()).await
        }
        _ => import::through_rusqlite(&data_path, input, "like-the-store", documents.len()).await,
    }
}

/// Checks that every way wrote as much, and prints the round.
fn print_round(input: &str, round: usize, outcomes: &[ImportOutcome]) -> anyhow::Result<()> {
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
    Ok(())
}

impl ImportRounds {
    /// Prints the summary.
    pub fn print(&self) {
        let Some(first) = self.rounds.of(IMPORT_SERVICE).next() else {
            return;
        };
        println!(
            "Import {} ({} items, {} writes), median of {} rounds (ratios: median of per-round ratios to one rusqlite transaction, lowest..highest):",
            self.input,
            first.items,
            first.writes,
            self.rounds.len()
        );
        for (way, name) in IMPORT_NAMES.iter().enumerate() {
            println!(
                "  {name}: {} docs/s, {:.3} s; ratio {}",
                rate(self.rounds.median(way, ImportOutcome::items_per_second)),
                self.rounds
                    .median(way, |outcome| outcome.elapsed.as_secs_f64()),
                self.rounds
                    .ratio(way, IMPORT_RAW, ImportOutcome::items_per_second)
            );
        }
        println!(
            "  ImportArticles: the server used {:.3} s of CPU over {:.0} commits; ImportArticles / rusqlite: {}",
            self.rounds
                .median(IMPORT_SERVICE, |outcome| outcome.server_cpu.as_secs_f64()),
            self.rounds
                .median(IMPORT_SERVICE, |outcome| outcome.commits as f64),
            target(">= 0.50"),
        );
    }
}
