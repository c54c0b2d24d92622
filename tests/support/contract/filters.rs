//! Every filter, alone and combined, against the reference.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use newswire::article::Article;
use newswire::query::ArticleQuery;

use super::ContractDatabase;
use super::data::{dataset, load};
use super::reference::check_queries;

/// Every filter, alone and combined, with values at the bounds, agrees
/// with `ArticleQuery::matches` in two orders.
pub async fn filters_match_the_reference(database: &impl ContractDatabase) {
    let store = database.open_store().await;
    let articles = load(store.as_ref(), dataset()).await;
    let queries = filter_queries(&articles);
    check_queries(store.as_ref(), &articles, &queries).await;
}

/// Queries over every filter, built from the data so bounds sit on real
/// values.
fn filter_queries(articles: &[Article]) -> Vec<(String, ArticleQuery)> {
    let base = ArticleQuery::default();
    let mut queries: Vec<(String, ArticleQuery)> = Vec::new();
    let mut add = |label: &str, query: ArticleQuery| queries.push((label.to_string(), query));

    add("everything", base.clone());
    for topics in [
        vec!["AI"],
        vec!["Power Apps"],
        vec!["AI", "Computer Vision"],
        vec!["Opinion", "AI"],
        vec!["ai"],
        vec!["No Such Topic"],
    ] {
        add(
            &format!("topics {topics:?}"),
            ArticleQuery {
                topics: topics.iter().map(|topic| topic.to_string()).collect(),
                ..base.clone()
            },
        );
    }
    let some_article = &articles[articles.len() / 2];
    let mut urls: Vec<String> = (0..3)
        .map(|index| format!("https://shared.example/{index}"))
        .collect();
    urls.extend(
        some_article
            .content
            .urls()
            .iter()
            .map(|url| url.to_string()),
    );
    urls.push("https://nowhere.example/".to_string());
    for url in urls {
        add(
            &format!("url {url}"),
            ArticleQuery {
                url: Some(url),
                ..base.clone()
            },
        );
    }
    for category in ["news", "opinion", "unknown"] {
        add(
            &format!("category {category}"),
            ArticleQuery {
                category: Some(category.to_string()),
                ..base.clone()
            },
        );
    }
    for kind in ["article", "video"] {
        add(
            &format!("kind {kind}"),
            ArticleQuery {
                kind: Some(kind.to_string()),
                ..base.clone()
            },
        );
    }
    for domain in ["microsoft.com", "aws.amazon.com", "example.invalid"] {
        add(
            &format!("provider {domain}"),
            ArticleQuery {
                provider_domain: Some(domain.to_string()),
                ..base.clone()
            },
        );
    }
    for published in [true, false] {
        add(
            &format!("published {published}"),
            ArticleQuery {
                published: Some(published),
                ..base.clone()
            },
        );
    }

    let present = |values: Vec<Option<i32>>| -> Vec<i32> {
        let set: BTreeSet<i32> = values.into_iter().flatten().collect();
        set.into_iter().collect()
    };
    let qualities = present(
        articles
            .iter()
            .map(|article| article.content.quality)
            .collect(),
    );
    let heats = present(
        articles
            .iter()
            .map(|article| article.content.heat)
            .collect(),
    );
    let median = |values: &[i32]| values[values.len() / 2];
    let (quality, heat) = (median(&qualities), median(&heats));
    for (label, query) in [
        ("min_quality at a value", (Some(quality), None, None, None)),
        ("max_quality at a value", (None, Some(quality), None, None)),
        (
            "quality exactly",
            (Some(quality), Some(quality), None, None),
        ),
        ("min_quality lowest", (Some(i32::MIN), None, None, None)),
        ("max_quality highest", (None, Some(i32::MAX), None, None)),
        ("min_heat at a value", (None, None, Some(heat), None)),
        ("max_heat at a value", (None, None, None, Some(heat))),
        ("heat exactly", (None, None, Some(heat), Some(heat))),
        ("max_heat lowest", (None, None, None, Some(i32::MIN))),
        ("min_heat zero", (None, None, Some(0), None)),
        ("max_heat below zero", (None, None, None, Some(-1))),
    ] {
        let (min_quality, max_quality, min_heat, max_heat) = query;
        add(
            label,
            ArticleQuery {
                min_quality,
                max_quality,
                min_heat,
                max_heat,
                ..base.clone()
            },
        );
    }

    // Time bounds on real values, on both sides of them, and on the two
    // articles that share a microsecond.
    let mut times: Vec<DateTime<Utc>> = articles
        .iter()
        .map(|article| article.content.published_date_time)
        .collect();
    times.sort();
    let sub_micro = articles
        .iter()
        .map(|article| article.content.published_date_time)
        .find(|time| time.timestamp_subsec_nanos() % 1000 != 0)
        .expect("the dataset has a sub-microsecond time");
    let nanosecond = Duration::nanoseconds(1);
    for (label, time) in [
        ("a median time", times[times.len() / 2]),
        ("the first time", times[0]),
        ("a sub-microsecond time", sub_micro),
        ("just after a sub-microsecond time", sub_micro + nanosecond),
        ("just before a sub-microsecond time", sub_micro - nanosecond),
        (
            "a microsecond after a median time",
            times[times.len() / 2] + Duration::microseconds(1),
        ),
    ] {
        add(
            &format!("published_after {label}"),
            ArticleQuery {
                published_after: Some(time),
                ..base.clone()
            },
        );
        add(
            &format!("published_before {label}"),
            ArticleQuery {
                published_before: Some(time),
                ..base.clone()
            },
        );
    }
    add(
        "a time window",
        ArticleQuery {
            published_after: Some(times[times.len() / 4]),
            published_before: Some(times[times.len() * 3 / 4]),
            ..base.clone()
        },
    );

    add(
        "combined: published Power Apps with heat",
        ArticleQuery {
            topics: vec!["Power Apps".to_string()],
            published: Some(true),
            min_heat: Some(heat),
            ..base.clone()
        },
    );
    add(
        "combined: microsoft videos before the median",
        ArticleQuery {
            provider_domain: Some("microsoft.com".to_string()),
            kind: Some("video".to_string()),
            published_before: Some(times[times.len() / 2]),
            ..base.clone()
        },
    );
    add(
        "combined: opinion, quality window, text",
        ArticleQuery {
            category: Some("opinion".to_string()),
            min_quality: Some(qualities[0]),
            max_quality: Some(quality),
            text: Some("power".to_string()),
            ..base.clone()
        },
    );
    add(
        "combined: everything set",
        ArticleQuery {
            text: Some("apps".to_string()),
            topics: vec!["Power Apps".to_string(), "AI".to_string()],
            url: None,
            category: Some("news".to_string()),
            kind: Some("article".to_string()),
            provider_domain: Some("microsoft.com".to_string()),
            published: Some(true),
            min_quality: Some(i32::MIN),
            max_quality: Some(i32::MAX - 1),
            min_heat: Some(i32::MIN + 1),
            max_heat: Some(i32::MAX),
            published_after: Some(times[0]),
            published_before: Some(times[times.len() - 1]),
        },
    );
    queries
}
