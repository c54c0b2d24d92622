//! `EXPLAIN (ANALYZE, BUFFERS)` of the statements the store's reads run,
//! with their parameters bound as the store binds them: how
//! `docs/postgres-plans.md` is made (`cargo bench --bench postgres --
//! --plans`), so the claim that indexes serve every read can be checked on
//! any database.
//!
//! PostgreSQL plans these for the values given (a custom plan). The
//! store's prepared statements may switch to a generic plan after five
//! runs, which the planner picks only when it costs no more than the
//! custom plans it replaces.

use tokio_postgres::types::ToSql;

use super::errors::{Failure, PostgresContext};
use super::list_sql::list_statement;
use super::reads::{get_parameter, get_sql};
use super::shared_reads::SharedReader;
use crate::article::Lookup;
use crate::query::PageRequest;

/// A read whose plan is asked for.
#[derive(Debug, Clone)]
pub enum PlannedRead {
    /// `Store::get`.
    Get(Lookup),
    /// `Store::list`, one page.
    List(Box<PageRequest>),
}

/// The executed plan of `read`, as PostgreSQL prints it.
pub(super) async fn explain(client: &SharedReader, read: &PlannedRead) -> Result<String, Failure> {
    let doing = "explaining a read";
    let (sql, parameters) = match read {
        PlannedRead::Get(lookup) => (get_sql(lookup), vec![get_parameter(lookup)?]),
        PlannedRead::List(request) => {
            let statement = list_statement(request)?;
            (statement.sql, statement.parameters)
        }
    };
    let references: Vec<&(dyn ToSql + Sync)> = parameters
        .iter()
        .map(|parameter| parameter.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let rows = client
        .query(&format!("EXPLAIN (ANALYZE, BUFFERS) {sql}"), &references)
        .await
        .context(doing)?;
    let lines = rows
        .iter()
        .map(|row| row.try_get::<_, String>(0))
        .collect::<Result<Vec<_>, _>>()
        .context(doing)?;
    Ok(lines.join("\n"))
}
