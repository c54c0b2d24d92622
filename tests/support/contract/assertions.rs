//! How the checks read a store back and compare: pages followed to the end
//! (each checked for its shape), lists compared id by id, an expected
//! error, the length of the change log.

use newswire::article::{Article, Revision};
use newswire::error::Error;
use newswire::query::{ArticleQuery, Cursor, Order, PageRequest, PageSize};
use newswire::store::Store;

pub(super) fn page_request(
    query: &ArticleQuery,
    order: Order,
    size: i32,
    after: Option<Cursor>,
) -> PageRequest {
    PageRequest {
        query: query.clone(),
        order,
        size: PageSize::parse(size).expect("a valid page size"),
        after,
    }
}

/// Follows `next` through every page, checking each page's shape: full
/// unless last, and `next` the cursor of its last row.
pub(super) async fn all_pages(
    store: &dyn Store,
    query: &ArticleQuery,
    order: Order,
    size: i32,
) -> Vec<Article> {
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list(&page_request(query, order, size, after))
            .await
            .expect("list succeeds");
        assert!(page.articles.len() <= size as usize, "a page over its size");
        let Some(next) = page.next else {
            rows.extend(page.articles);
            return rows;
        };
        assert_eq!(
            page.articles.len(),
            size as usize,
            "a page followed by another must be full"
        );
        let last = page.articles.last().expect("a full page has a last row");
        assert_eq!(next, order.cursor_of(last), "next is the last row's cursor");
        rows.extend(page.articles);
        after = Some(next);
        assert!(rows.len() <= 1_000_000, "pagination does not end");
    }
}

/// Compares ids first, for a readable failure, then whole articles.
pub(super) fn assert_same_articles(actual: &[Article], expected: &[Article], what: &str) {
    let ids = |articles: &[Article]| -> Vec<String> {
        articles
            .iter()
            .map(|article| format!("{} ({})", article.key, article.id))
            .collect()
    };
    assert_eq!(
        ids(actual),
        ids(expected),
        "{what}: rows or their order differ"
    );
    assert!(
        actual == expected,
        "{what}: same rows but different content"
    );
}

pub(super) fn expect_error<T: std::fmt::Debug>(result: Result<T, Error>, what: &str) -> Error {
    match result {
        Ok(value) => panic!("{what}: expected an error, got {value:?}"),
        Err(error) => error,
    }
}

pub(super) async fn change_count(store: &dyn Store) -> usize {
    store
        .changes_since(Revision(0), 1_000_000)
        .await
        .expect("changes_since succeeds")
        .len()
}
