//! The SQL of one page of a list: `ArticleQuery::matches` as a `WHERE`
//! clause, the keyset cursor, and the order with its id tiebreak.
//!
//! Only the shape of the statement (which filters are set, how many topics)
//! is written into the SQL text; every value is a bound parameter.

use chrono::{DateTime, Utc};
#[cfg(test)]
use rusqlite::params_from_iter;
use rusqlite::types::Value;

use super::rows::{ARTICLE_COLUMNS, micros};
use crate::query::{Direction, PageRequest, SortField, search_words};
use crate::store::columns::nanos_below_micros;

/// What each row of a list statement holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ListRows {
    /// `ARTICLE_COLUMNS`, for `ArticleRow::read`.
    Articles,
    /// The order's sort value, the id and the encoded article: all a
    /// stream sends, without reading the article's own row when no filter
    /// needs it.
    Encoded,
}

impl ListRows {
    /// The statement's `SELECT … FROM …` for a list in `field`'s order,
    /// `filtered` or not.
    fn select(self, field: SortField, filtered: bool) -> String {
        match self {
            Self::Articles => format!("SELECT {ARTICLE_COLUMNS} FROM articles a"),
            // `encoded_articles` is kept in this order (schema version 5),
            // so an unfiltered stream reads its pages one after the other.
            // It takes the alias `a` the cursor's condition names.
            Self::Encoded if field == SortField::PublishedDateTime && !filtered => {
                "SELECT a.published_at, a.id, a.article FROM encoded_articles a".to_string()
            }
            // In the default order the indexes that serve it hold the
            // encoding's key; the others hold `seq`, which `encoded_articles`
            // indexes too, so neither reads the article's row.
            Self::Encoded if field == SortField::PublishedDateTime => {
                "SELECT a.published_at, a.id, e.article FROM articles a \
                 JOIN encoded_articles e ON e.published_at = a.published_at AND e.id = a.id"
                    .to_string()
            }
            Self::Encoded => format!(
                "SELECT {}, a.id, e.article FROM articles a \
                 JOIN encoded_articles e ON e.seq = a.seq",
                sort_column(field)
            ),
        }
    }
}

/// A statement and its parameters, in placeholder order.
pub(super) struct ListStatement {
    pub(super) sql: String,
    pub(super) parameters: Vec<Value>,
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
struct Conditions {
    clauses: Vec<String>,
    parameters: Vec<Value>,
}

impl Conditions {
    /// Adds `clause`, whose `?` placeholders take `parameters` in order.
    fn add(&mut self, clause: impl Into<String>, parameters: impl IntoIterator<Item = Value>) {
        self.clauses.push(clause.into());
        self.parameters.extend(parameters);
    }

    fn equal_if_set(&mut self, column: &str, wanted: &Option<String>) {
        if let Some(wanted) = wanted {
            self.add(format!("{column} = ?"), [Value::Text(wanted.clone())]);
        }
    }

    /// `min <= value <= max` on a sort column: a missing value is stored as
    /// `i64::MIN`, below every `i32`, so it never matches a bound.
    fn within(&mut self, column: &str, min: Option<i32>, max: Option<i32>) {
        if min.is_some() || max.is_some() {
            self.add(
                format!("{column} BETWEEN ? AND ?"),
                [
                    Value::Integer(i64::from(min.unwrap_or(i32::MIN))),
                    Value::Integer(i64::from(max.unwrap_or(i32::MAX))),
                ],
            );
        }
    }

    /// `published_date_time >= after`, exact to the nanosecond.
    fn published_from(&mut self, after: DateTime<Utc>) {
        let (whole, below) = (micros(after), i64::from(nanos_below_micros(after)));
        if below == 0 {
            self.add("a.published_at >= ?", [Value::Integer(whole)]);
        } else {
            self.add(
                "a.published_at >= ? AND (a.published_at > ? OR a.published_nanos >= ?)",
                [
                    Value::Integer(whole),
                    Value::Integer(whole),
                    Value::Integer(below),
                ],
            );
        }
    }

    /// `published_date_time < before`, exact to the nanosecond.
    fn published_before(&mut self, before: DateTime<Utc>) {
        let (whole, below) = (micros(before), i64::from(nanos_below_micros(before)));
        if below == 0 {
            self.add("a.published_at < ?", [Value::Integer(whole)]);
        } else {
            self.add(
                "a.published_at <= ? AND (a.published_at < ? OR a.published_nanos < ?)",
                [
                    Value::Integer(whole),
                    Value::Integer(whole),
                    Value::Integer(below),
                ],
            );
        }
    }
}

/// The FTS5 query for `text`: every word as a quoted prefix, all required.
/// `None` when the text has no word (then it filters nothing, as in
/// `ArticleQuery::matches`). Words hold only letters and digits, so quoting
/// cannot be broken out of.
pub(super) fn search_expression(text: &str) -> Option<String> {
    let words = search_words(text);
    if words.is_empty() {
        return None;
    }
    let phrases: Vec<String> = words.iter().map(|word| format!("\"{word}\"*")).collect();
    Some(phrases.join(" AND "))
}

/// The statement for one page of `request`, fetching one row more than the
/// page size to learn whether another page follows.
pub(super) fn list_statement(request: &PageRequest, rows: ListRows) -> ListStatement {
    let query = &request.query;
    let mut conditions = Conditions {
        clauses: Vec::new(),
        parameters: Vec::new(),
    };

    if let Some(expression) = query.text.as_deref().and_then(search_expression) {
        conditions.add(
            "a.seq IN (SELECT rowid FROM article_search WHERE article_search MATCH ?)",
            [Value::Text(expression)],
        );
    }
    if !query.topics.is_empty() {
        let mut topics: Vec<&String> = query.topics.iter().collect();
        topics.sort();
        topics.dedup();
        let placeholders = vec!["?"; topics.len()].join(", ");
        conditions.add(
            format!(
                "a.seq IN (SELECT article_seq FROM article_topics WHERE topic IN ({placeholders}))"
            ),
            topics.into_iter().map(|topic| Value::Text(topic.clone())),
        );
    }
    if let Some(url) = &query.url {
        conditions.add(
            "a.seq IN (SELECT article_seq FROM article_urls WHERE url = ?)",
            [Value::Text(url.clone())],
        );
    }
    conditions.equal_if_set("a.category", &query.category);
    conditions.equal_if_set("a.kind", &query.kind);
    conditions.equal_if_set("a.provider_domain", &query.provider_domain);
    if let Some(published) = query.published {
        conditions.add("a.published = ?", [Value::Integer(i64::from(published))]);
    }
    conditions.within("a.sort_quality", query.min_quality, query.max_quality);
    conditions.within("a.sort_heat", query.min_heat, query.max_heat);
    if let Some(after) = query.published_after {
        conditions.published_from(after);
    }
    if let Some(before) = query.published_before {
        conditions.published_before(before);
    }

    let filtered = !conditions.clauses.is_empty();
    let column = sort_column(request.order.field);
    let (comparison, direction) = match request.order.direction {
        Direction::Ascending => (">", "ASC"),
        Direction::Descending => ("<", "DESC"),
    };
    if let Some(cursor) = request.after {
        conditions.add(
            format!("({column}, a.id) {comparison} (?, ?)"),
            [
                Value::Integer(cursor.sort_value),
                Value::Text(cursor.id.to_string()),
            ],
        );
    }

    let where_clause = if conditions.clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.clauses.join(" AND "))
    };
    let mut parameters = conditions.parameters;
    let limit = i64::try_from(request.size.get().saturating_add(1)).unwrap_or(i64::MAX);
    parameters.push(Value::Integer(limit));
    ListStatement {
        sql: format!(
            "{} {where_clause} ORDER BY {column} {direction}, a.id {direction} LIMIT ?",
            rows.select(request.order.field, filtered)
        ),
        parameters,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::ArticleId;
    use crate::query::{ArticleQuery, Cursor, Order, PageSize};

    #[test]
    fn search_expression_quotes_each_word_as_a_prefix() {
        assert_eq!(
            search_expression("Power-Apps, ÉTÉ 2020").as_deref(),
            Some("\"power\"* AND \"apps\"* AND \"été\"* AND \"2020\"*")
        );
        assert_eq!(search_expression(" -- "), None);
    }

    /// What `EXPLAIN QUERY PLAN` says about one page of `query`, for each
    /// kind of rows: the articles, and the encoded ones a stream reads.
    fn plans(query: ArticleQuery, order: &str, after: bool) -> Vec<Vec<String>> {
        [ListRows::Articles, ListRows::Encoded]
            .into_iter()
            .map(|rows| plan(query.clone(), order, after, rows))
            .collect()
    }

    fn plan(query: ArticleQuery, order: &str, after: bool, rows: ListRows) -> Vec<String> {
        let connection = super::super::schema::migrated_in_memory();
        let request = PageRequest {
            query,
            order: Order::parse(order).expect("a valid order"),
            size: PageSize::parse(7).expect("a valid size"),
            after: after.then(|| Cursor {
                sort_value: 1_600_000_000_000_000,
                id: ArticleId::generate(),
            }),
        };
        let statement = list_statement(&request, rows);
        let mut explain = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {}", statement.sql))
            .expect("the statement prepares");
        explain
            .query_map(params_from_iter(statement.parameters), |row| row.get(3))
            .expect("explain runs")
            .collect::<rusqlite::Result<Vec<String>>>()
            .expect("explain rows")
    }

    /// Whether a plan step seeks an index of `articles`, covering or not.
    fn seeks_an_index_of_articles(step: &str) -> bool {
        step.starts_with("SEARCH a USING INDEX")
            || step.starts_with("SEARCH a USING COVERING INDEX")
    }

    /// No step reads the whole `articles` table. (`SCAN a` alone is
    /// `encoded_articles` read in its key's order, from the start.)
    fn assert_no_table_scan(plan: &[String]) {
        if plan == ["SCAN a"] {
            return;
        }
        for step in plan {
            assert!(
                !step.starts_with("SCAN a") || step.contains("INDEX"),
                "a full scan of articles: {plan:?}"
            );
        }
    }

    #[test]
    fn every_order_reads_its_index_in_order_from_the_cursor() {
        for order in [
            "published_date_time desc",
            "published_date_time asc",
            "heat desc",
            "heat asc",
            "quality desc",
            "quality asc",
        ] {
            for (after, plan) in [false, true].into_iter().flat_map(|after| {
                plans(ArticleQuery::default(), order, after)
                    .into_iter()
                    .map(move |plan| (after, plan))
            }) {
                assert_no_table_scan(&plan);
                assert!(
                    !plan.iter().any(|step| step.contains("TEMP B-TREE")),
                    "{order} sorts instead of reading an index: {plan:?}"
                );
                if after {
                    let seeks_the_cursor = |step: &String| {
                        (seeks_an_index_of_articles(step)
                            || step.starts_with("SEARCH a USING PRIMARY KEY"))
                            && ["(published_at,id)", "(sort_heat,id)", "(sort_quality,id)"]
                                .iter()
                                .any(|position| step.contains(position))
                    };
                    assert!(
                        plan.iter().any(seeks_the_cursor),
                        "{order}: the cursor does not seek the index: {plan:?}"
                    );
                }
            }
        }
    }

    /// An unfiltered stream reads the order's index and the encodings,
    /// never an article's own row; in the default order, the encodings
    /// alone, which are kept in that order.
    #[test]
    fn an_unfiltered_stream_reads_no_article_row() {
        for order in ["published_date_time desc", "published_date_time asc"] {
            let plan = plan(ArticleQuery::default(), order, true, ListRows::Encoded);
            assert_eq!(
                plan,
                ["SEARCH a USING PRIMARY KEY ((published_at,id)<(?,?))"
                    .replace('<', if order.ends_with("asc") { ">" } else { "<" })],
                "{order}"
            );
        }
        for order in ["heat asc", "quality desc"] {
            let plan = plan(ArticleQuery::default(), order, true, ListRows::Encoded);
            assert!(
                plan.iter()
                    .any(|step| step.starts_with("SEARCH a USING COVERING INDEX")),
                "{order}: {plan:?}"
            );
            assert!(
                plan.iter().any(
                    |step| step.starts_with("SEARCH e USING INDEX") && step.contains("(seq=?)")
                ),
                "{order}: {plan:?}"
            );
        }
    }

    /// A filtered stream in the default order finds its articles by the
    /// filter's index and each encoding by its key.
    #[test]
    fn a_filtered_stream_reads_each_encoding_by_its_key() {
        let query = ArticleQuery {
            published: Some(true),
            ..ArticleQuery::default()
        };
        let plan = plan(query, "", true, ListRows::Encoded);
        assert!(
            plan.iter()
                .any(|step| step.contains("INDEX articles_by_published")),
            "{plan:?}"
        );
        assert!(
            plan.iter().any(
                |step| step.starts_with("SEARCH e USING PRIMARY KEY (published_at=? AND id=?)")
            ),
            "{plan:?}"
        );
    }

    #[test]
    fn equality_filters_seek_an_index_that_also_gives_the_default_order() {
        for query in [
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
        ] {
            for plan in plans(query, "", true) {
                assert_no_table_scan(&plan);
                assert!(
                    plan.iter().any(|step| seeks_an_index_of_articles(step)),
                    "{plan:?}"
                );
                assert!(
                    !plan.iter().any(|step| step.contains("TEMP B-TREE")),
                    "{plan:?}"
                );
            }
        }
    }

    #[test]
    fn topic_url_and_text_filters_start_from_their_index() {
        let cases = [
            (
                ArticleQuery {
                    topics: vec!["AI".to_string(), "Power Apps".to_string()],
                    ..ArticleQuery::default()
                },
                "article_topics_by_topic",
            ),
            (
                ArticleQuery {
                    url: Some("https://example.org/".to_string()),
                    ..ArticleQuery::default()
                },
                "article_urls_by_url",
            ),
            (
                ArticleQuery {
                    text: Some("power apps".to_string()),
                    ..ArticleQuery::default()
                },
                "article_search VIRTUAL TABLE",
            ),
        ];
        for (query, index) in cases {
            for plan in plans(query, "heat desc", true) {
                assert_no_table_scan(&plan);
                assert!(plan.iter().any(|step| step.contains(index)), "{plan:?}");
            }
        }
    }
}
