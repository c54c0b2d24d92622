//! What a list must return, computed without the store: the articles
//! `ArticleQuery::matches` accepts, in (sort value, id) order; and the check
//! that lists queries against it.

use newswire::article::Article;
use newswire::query::{ArticleQuery, Direction, Order, SortField};
use newswire::store::Store;

use super::assertions::{all_pages, assert_same_articles};

/// `articles` as a list must return them: matching, in the total order.
pub(super) fn reference(articles: &[Article], query: &ArticleQuery, order: Order) -> Vec<Article> {
    let mut matching: Vec<Article> = articles
        .iter()
        .filter(|article| query.matches(article))
        .cloned()
        .collect();
    matching.sort_by(|left, right| compare_in_order(left, right, order));
    matching
}

pub(super) fn compare_in_order(
    left: &Article,
    right: &Article,
    order: Order,
) -> std::cmp::Ordering {
    let position = |article: &Article| (article.content.sort_value(order.field), article.id);
    match order.direction {
        Direction::Ascending => position(left).cmp(&position(right)),
        Direction::Descending => position(right).cmp(&position(left)),
    }
}

/// Every order the API offers.
pub(super) fn all_orders() -> Vec<Order> {
    let mut orders = Vec::new();
    for field in [
        SortField::PublishedDateTime,
        SortField::Heat,
        SortField::Quality,
    ] {
        for direction in [Direction::Descending, Direction::Ascending] {
            orders.push(Order { field, direction });
        }
    }
    orders
}

/// Lists each query 7 rows at a time in two orders and compares with the
/// reference; most queries must match something, or they test little.
pub(super) async fn check_queries(
    store: &dyn Store,
    articles: &[Article],
    queries: &[(String, ArticleQuery)],
) {
    let orders = [
        Order::default(),
        Order {
            field: SortField::Heat,
            direction: Direction::Ascending,
        },
    ];
    let mut non_empty = 0;
    for (label, query) in queries {
        for order in orders {
            let expected = reference(articles, query, order);
            let listed = all_pages(store, query, order, 7).await;
            assert_same_articles(&listed, &expected, &format!("{label} in {order:?}"));
            if order == Order::default() && !expected.is_empty() && expected.len() < articles.len()
            {
                non_empty += 1;
            }
        }
    }
    assert!(
        non_empty * 3 >= queries.len() * 2,
        "only {non_empty} of {} queries select a proper subset; the data tests too little",
        queries.len()
    );
}
