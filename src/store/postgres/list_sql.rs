//! The SQL of one page of a list: `ArticleQuery::matches` as a `WHERE`
//! clause, the keyset cursor, and the order with its id tiebreak.
//!
//! Only the shape of the statement (which filters are set) is written into
//! the SQL text; every value is a bound parameter. Topics are one array
//! parameter, so the number of shapes stays small enough to keep each one
//! prepared.

use chrono::{DateTime, Utc};
use tokio_postgres::types::ToSql;

use super::errors::Failure;
use super::rows::{ARTICLE_COLUMNS, uuid_of};
use super::search_index::search_query;
use crate::query::{Direction, PageRequest, SortField};
use crate::store::columns::nanos_below_micros;

/// A statement's parameter.
pub(super) type Parameter = Box<dyn ToSql + Sync + Send>;

/// A statement and its parameters, `$1` first.
pub(super) struct ListStatement {
    pub(super) sql: String,
    pub(super) parameters: Vec<Parameter>,
}

impl ListStatement {
    /// The parameters as tokio-postgres takes them.
    pub(super) fn parameter_references(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.parameters
            .iter()
            .map(|parameter| parameter.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// The column holding `sort_value(field)`.
fn sort_column(field: SortField) -> &'static str {
    match field {
        SortField::PublishedDateTime => "a.published_at",
        SortField::Heat => "a.sort_heat",
        SortField::Quality => "a.sort_quality",
    }
}

/// Collects conditions and their parameters.
#[derive(Default)]
struct Conditions {
    clauses: Vec<String>,
    parameters: Vec<Parameter>,
}

impl Conditions {
    /// Binds `value` and returns its placeholder.
    fn bind(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.parameters.push(Box::new(value));
        format!("${}", self.parameters.len())
    }

    fn equal_if_set(&mut self, column: &str, wanted: &Option<String>) {
        if let Some(wanted) = wanted {
            let placeholder = self.bind(wanted.clone());
            self.clauses.push(format!("{column} = {placeholder}"));
        }
    }

    /// `min <= value <= max` on a sort column: a missing value is stored as
    /// `i64::MIN`, below every `i32`, so it never matches a bound.
    fn within(&mut self, column: &str, min: Option<i32>, max: Option<i32>) {
        if min.is_some() || max.is_some() {
            let low = self.bind(i64::from(min.unwrap_or(i32::MIN)));
            let high = self.bind(i64::from(max.unwrap_or(i32::MAX)));
            self.clauses
                .push(format!("{column} BETWEEN {low} AND {high}"));
        }
    }

    /// `published_date_time >= after`, exact to the nanosecond.
    fn published_from(&mut self, after: DateTime<Utc>) {
        let whole = self.bind(after.timestamp_micros());
        let below = nanos_below_micros(after);
        if below == 0 {
            self.clauses.push(format!("a.published_at >= {whole}"));
        } else {
            let below = self.bind(below);
            self.clauses.push(format!(
                "a.published_at >= {whole} AND (a.published_at > {whole} OR a.published_nanos >= {below})"
            ));
        }
    }

    /// `published_date_time < before`, exact to the nanosecond.
    fn published_before(&mut self, before: DateTime<Utc>) {
        let whole = self.bind(before.timestamp_micros());
        let below = nanos_below_micros(before);
        if below == 0 {
            self.clauses.push(format!("a.published_at < {whole}"));
        } else {
            let below = self.bind(below);
            self.clauses.push(format!(
                "a.published_at <= {whole} AND (a.published_at < {whole} OR a.published_nanos < {below})"
            ));
        }
    }
}

/// The statement for one page of `request`, fetching one row more than the
/// page size to learn whether another page follows.
pub(super) fn list_statement(request: &PageRequest) -> Result<ListStatement, Failure> {
    let query = &request.query;
    let mut conditions = Conditions::default();

    if let Some(expression) = query.text.as_deref().and_then(search_query) {
        let placeholder = conditions.bind(expression);
        conditions
            .clauses
            .push(format!("a.search_words @@ {placeholder}::text::tsquery"));
    }
    if !query.topics.is_empty() {
        let mut topics = query.topics.clone();
        topics.sort_unstable();
        topics.dedup();
        let placeholder = conditions.bind(topics);
        conditions.clauses.push(format!(
            "a.id IN (SELECT t.article_id FROM article_topics t WHERE t.topic = ANY({placeholder}))"
        ));
    }
    if let Some(url) = &query.url {
        let placeholder = conditions.bind(url.clone());
        conditions.clauses.push(format!(
            "a.id IN (SELECT u.article_id FROM article_urls u WHERE u.url = {placeholder})"
        ));
    }
    conditions.equal_if_set("a.category", &query.category);
    conditions.equal_if_set("a.kind", &query.kind);
    conditions.equal_if_set("a.provider_domain", &query.provider_domain);
    if let Some(published) = query.published {
        let placeholder = conditions.bind(published);
        conditions
            .clauses
            .push(format!("a.published = {placeholder}"));
    }
    conditions.within("a.sort_quality", query.min_quality, query.max_quality);
    conditions.within("a.sort_heat", query.min_heat, query.max_heat);
    if let Some(after) = query.published_after {
        conditions.published_from(after);
    }
    if let Some(before) = query.published_before {
        conditions.published_before(before);
    }

    let column = sort_column(request.order.field);
    let (comparison, direction) = match request.order.direction {
        Direction::Ascending => (">", "ASC"),
        Direction::Descending => ("<", "DESC"),
    };
    if let Some(cursor) = request.after {
        let sort_value = conditions.bind(cursor.sort_value);
        let id = conditions.bind(uuid_of(cursor.id)?);
        conditions.clauses.push(format!(
            "({column}, a.id) {comparison} ({sort_value}, {id})"
        ));
    }

    let where_clause = if conditions.clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.clauses.join(" AND "))
    };
    let limit = i64::try_from(request.size.get().saturating_add(1)).unwrap_or(i64::MAX);
    let limit = conditions.bind(limit);
    Ok(ListStatement {
        sql: format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles a {where_clause} \
             ORDER BY {column} {direction}, a.id {direction} LIMIT {limit}"
        ),
        parameters: conditions.parameters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::ArticleId;
    use crate::query::{ArticleQuery, Cursor, Order, PageSize};

    fn request(query: ArticleQuery, order: &str, after: bool) -> PageRequest {
        PageRequest {
            query,
            order: Order::parse(order).expect("a valid order"),
            size: PageSize::parse(7).expect("a valid size"),
            after: after.then(|| Cursor {
                sort_value: 1_600_000_000_000_000,
                id: ArticleId::generate(),
            }),
        }
    }

    #[test]
    fn placeholders_are_numbered_in_parameter_order() {
        let statement = list_statement(&request(
            ArticleQuery {
                text: Some("power apps".to_string()),
                topics: vec!["B".to_string(), "A".to_string(), "B".to_string()],
                min_heat: Some(3),
                ..ArticleQuery::default()
            },
            "heat asc",
            true,
        ))
        .expect("a statement");
        assert_eq!(statement.parameters.len(), 7);
        for number in 1..=7 {
            assert!(
                statement.sql.contains(&format!("${number}")),
                "{}",
                statement.sql
            );
        }
        assert!(!statement.sql.contains("$8"));
        assert!(
            statement
                .sql
                .ends_with("ORDER BY a.sort_heat ASC, a.id ASC LIMIT $7"),
            "{}",
            statement.sql
        );
        assert!(statement.sql.contains("(a.sort_heat, a.id) > ($5, $6)"));
    }

    /// Needs the test server (`scripts/test` provides it). With sequential
    /// scans and sorts priced out, a plan that still scans or sorts means
    /// no index can serve the filter or the order. Runs in a schema of its
    /// own on the server's database, dropped afterwards.
    #[tokio::test]
    async fn every_order_and_filter_is_served_by_an_index() {
        let url = std::env::var("NEWSWIRE_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
        let (mut client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "cannot reach the PostgreSQL test server at {url}: {error}; run \
                     scripts/test, or start PostgreSQL (apt-get install postgresql) and \
                     set NEWSWIRE_TEST_DATABASE_URL"
                )
            });
        tokio::spawn(connection);
        let schema = format!("newswire_plans_{}", uuid::Uuid::now_v7().simple());
        client
            .batch_execute(&format!(
                "CREATE SCHEMA {schema}; SET search_path TO {schema}"
            ))
            .await
            .expect("a schema of its own");
        super::super::schema::migrate(&mut client)
            .await
            .expect("the migrations apply");
        client
            .batch_execute("SET enable_seqscan = off; SET enable_sort = off")
            .await
            .expect("planner settings");

        let mut cases: Vec<(String, PageRequest)> = Vec::new();
        for order in [
            "published_date_time desc",
            "published_date_time asc",
            "heat desc",
            "heat asc",
            "quality desc",
            "quality asc",
        ] {
            for after in [false, true] {
                cases.push((
                    format!("{order}, after: {after}"),
                    request(ArticleQuery::default(), order, after),
                ));
            }
        }
        let filters = [
            ArticleQuery {
                category: Some("news".to_string()),
                ..ArticleQuery::default()
            },
            ArticleQuery {
                kind: Some("video".to_string()),
                ..ArticleQuery::default()
            },
            ArticleQuery {
                provider_domain: Some("microsoft.com".to_string()),
                ..ArticleQuery::default()
            },
            ArticleQuery {
                published: Some(true),
                ..ArticleQuery::default()
            },
            ArticleQuery {
                topics: vec!["AI".to_string(), "Power Apps".to_string()],
                ..ArticleQuery::default()
            },
            ArticleQuery {
                url: Some("https://example.org/".to_string()),
                ..ArticleQuery::default()
            },
            ArticleQuery {
                text: Some("power apps".to_string()),
                ..ArticleQuery::default()
            },
        ];
        for query in filters {
            for order in ["", "heat desc"] {
                cases.push((
                    format!("{query:?} in {order:?}"),
                    request(query.clone(), order, true),
                ));
            }
        }

        let mut failures = Vec::new();
        for (label, request) in &cases {
            let statement = list_statement(request).expect("a statement");
            let plan: Vec<String> = client
                .query(
                    &format!("EXPLAIN {}", statement.sql),
                    &statement.parameter_references(),
                )
                .await
                .expect("EXPLAIN runs")
                .iter()
                .map(|row| row.get(0))
                .collect();
            let plan = plan.join("\n");
            if plan.contains("Seq Scan") || plan.contains("Sort") {
                failures.push(format!("{label}:\n{plan}"));
            }
        }
        client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .expect("dropping the schema");
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }

    #[test]
    fn the_shape_does_not_depend_on_how_many_topics() {
        let with = |topics: &[&str]| {
            list_statement(&request(
                ArticleQuery {
                    topics: topics.iter().map(|topic| topic.to_string()).collect(),
                    ..ArticleQuery::default()
                },
                "",
                false,
            ))
            .expect("a statement")
            .sql
        };
        assert_eq!(with(&["AI"]), with(&["AI", "Power Apps", "Opinion"]));
    }
}
