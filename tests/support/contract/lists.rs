//! Lists without filters: every order paged through, exact page
//! boundaries, paging while others write.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::Duration;
use newswire::article::{Article, ArticleId, ArticleKey, Lookup};
use newswire::query::{ArticleQuery, Direction, Order, SortField};
use newswire::store::UpsertItem;

use super::ContractDatabase;
use super::assertions::{all_pages, assert_same_articles, page_request};
use super::data::{corpus_items, dataset, key, load};
use super::reference::{all_orders, compare_in_order, reference};

/// With no filter, every order pages (7 at a time) through every row
/// exactly once, in (sort value, id) order.
pub async fn every_order_pages_through_all_rows(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let articles = load(store.as_ref(), dataset()).await;
    let everything = ArticleQuery::default();
    for order in all_orders() {
        let listed = all_pages(store.as_ref(), &everything, order, 7).await;
        let expected = reference(&articles, &everything, order);
        assert_eq!(expected.len(), articles.len());
        assert_same_articles(&listed, &expected, &format!("all rows in {order:?}"));
    }
}

/// A page that ends exactly at the last row has no next; one that ends
/// just before it does.
pub async fn page_boundaries_are_exact(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let articles = load(
        store.as_ref(),
        corpus_items().into_iter().take(14).collect(),
    )
    .await;
    let everything = ArticleQuery::default();
    let order = Order::default();
    let expected = reference(&articles, &everything, order);

    let whole = store
        .list(&page_request(&everything, order, 14, None))
        .await
        .expect("list");
    assert_same_articles(&whole.articles, &expected, "one exact page");
    assert_eq!(whole.next, None, "nothing follows the last row");

    let first = store
        .list(&page_request(&everything, order, 13, None))
        .await
        .expect("list");
    assert_eq!(first.articles.len(), 13);
    let next = first.next.expect("one row follows");
    let second = store
        .list(&page_request(&everything, order, 13, Some(next)))
        .await
        .expect("list");
    assert_same_articles(&second.articles, &expected[13..], "the last row");
    assert_eq!(second.next, None);

    // Strictly after: a cursor on the last row gives an empty page.
    let last = order.cursor_of(expected.last().expect("rows"));
    let empty = store
        .list(&page_request(&everything, order, 5, Some(last)))
        .await
        .expect("list");
    assert!(empty.articles.is_empty());
    assert_eq!(empty.next, None);
}

/// Paging while other writers insert and delete: no row twice, rows in
/// order, and every row that existed before the first page and was never
/// deleted is returned.
pub async fn pagination_survives_concurrent_inserts_and_deletes(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let items: Vec<UpsertItem> = dataset().into_iter().take(300).collect();
    let initial = load(store.as_ref(), items.clone()).await;
    let everything = ArticleQuery::default();

    for (round, order) in [
        Order::default(),
        Order {
            field: SortField::Heat,
            direction: Direction::Ascending,
        },
    ]
    .into_iter()
    .enumerate()
    {
        let alive: Vec<Article> = all_pages(store.as_ref(), &everything, order, 1000).await;
        let deleted: Arc<Mutex<HashSet<ArticleId>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        // Victims in an order unrelated to the listing order.
        let mut victims: Vec<ArticleId> = alive.iter().map(|article| article.id).collect();
        victims.sort_by_key(|id| id.to_string().chars().rev().collect::<String>());
        let (background_victims, inline_victims) = victims.split_at(victims.len() / 2);

        let background = tokio::spawn({
            let store = Arc::clone(&store);
            let deleted = Arc::clone(&deleted);
            let stop = Arc::clone(&stop);
            let victims = background_victims.to_vec();
            let templates = items.clone();
            async move {
                let mut count = 0usize;
                // At least one round, however fast the pager is.
                loop {
                    let template = &templates[(count * 37) % templates.len()];
                    let mut content = template.content.clone();
                    content.published_date_time += Duration::seconds(1);
                    content.heat = content.heat.map(|heat| heat.saturating_add(1));
                    store
                        .create(key(&format!("background-{round}-{count}")), content)
                        .await
                        .expect("a concurrent create");
                    if let Some(victim) = victims.get(count) {
                        deleted.lock().expect("lock").insert(*victim);
                        store
                            .delete(&Lookup::Id(*victim), None)
                            .await
                            .expect("a concurrent delete");
                    }
                    count += 1;
                    if stop.load(Ordering::SeqCst) {
                        break count;
                    }
                    tokio::task::yield_now().await;
                }
            }
        });

        let mut seen: Vec<Article> = Vec::new();
        let mut after = None;
        let mut page_number = 0usize;
        loop {
            let page = store
                .list(&page_request(&everything, order, 7, after))
                .await
                .expect("list");
            seen.extend(page.articles.iter().cloned());
            let Some(next) = page.next else { break };
            after = Some(next);
            // Writes right at the cursor, between pages: a row sharing the
            // last row's sort value, and a delete of a row not yet seen.
            let last = page.articles.last().expect("a page before a next");
            let mut content = last.content.clone();
            content.title = format!("inline {page_number}");
            store
                .create(key(&format!("inline-{round}-{page_number}")), content)
                .await
                .expect("an inline create");
            if let Some(victim) = inline_victims.get(page_number) {
                deleted.lock().expect("lock").insert(*victim);
                store
                    .delete(&Lookup::Id(*victim), None)
                    .await
                    .expect("an inline delete");
            }
            page_number += 1;
            tokio::task::yield_now().await;
        }
        stop.store(true, Ordering::SeqCst);
        let background_writes = background.await.expect("the background writer");
        assert!(background_writes > 0, "the background writer never ran");

        let mut ids = HashSet::new();
        for article in &seen {
            assert!(ids.insert(article.id), "{} returned twice", article.key);
        }
        for pair in seen.windows(2) {
            assert_eq!(
                compare_in_order(&pair[0], &pair[1], order),
                std::cmp::Ordering::Less,
                "rows out of order in {order:?}"
            );
        }
        let deleted = deleted.lock().expect("lock");
        let missed: Vec<&ArticleKey> = alive
            .iter()
            .filter(|article| !deleted.contains(&article.id) && !ids.contains(&article.id))
            .map(|article| &article.key)
            .collect();
        assert!(missed.is_empty(), "rows missed in {order:?}: {missed:?}");
        assert!(!initial.is_empty());
    }
}
