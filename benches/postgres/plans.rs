//! `docs/postgres-plans.md`: the executed plans (`EXPLAIN (ANALYZE,
//! BUFFERS)`) of the store's main reads on the loaded database, with the
//! indexes each uses, written by `cargo bench --bench postgres -- --plans`.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use chrono::{TimeZone, Utc};
use newswire::article::{ArticleKey, Lookup};
use newswire::query::{ArticleQuery, Order, PageRequest, PageSize, search_words};
use newswire::store::Store;
use newswire::store::postgres::{PlannedRead, PostgresStore};

use crate::list::LoadedDatabase;
use crate::report::progress;

/// Where the document goes.
fn document_path() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/postgres-plans.md"
    ))
}

/// The most common value of `pick` among the model's articles.
fn most_common(values: impl Iterator<Item = Option<String>>) -> String {
    let mut counts = std::collections::HashMap::<String, usize>::new();
    for value in values.flatten() {
        *counts.entry(value).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(value, _)| value)
        .unwrap_or_default()
}

fn page(query: ArticleQuery, order: &str) -> anyhow::Result<PageRequest> {
    Ok(PageRequest {
        query,
        order: Order::parse(order)?,
        size: PageSize::parse(50)?,
        after: None,
    })
}

/// Writes the document for the database `loaded`.
pub async fn write(loaded: &LoadedDatabase, deep_page: usize) -> anyhow::Result<()> {
    let store =
        PostgresStore::connect(loaded.database.url(), newswire::wire::article_encoder()).await?;
    let model = loaded.generator.model();
    let sample = loaded.generator.article(loaded.articles / 2)?;
    let stored = store
        .get(&Lookup::Key(sample.key.clone()))
        .await?
        .context("the sample article is stored")?;
    let url = sample
        .content
        .urls()
        .first()
        .map(|url| url.to_string())
        .context("the sample article has a URL")?;
    let category = most_common(model.categories.values().iter().cloned());
    let kind = most_common(model.kinds.values().iter().cloned());
    let domain = most_common(
        model
            .providers
            .values()
            .iter()
            .map(|provider| provider.as_ref().and_then(|p| p.domain.clone())),
    );
    let topic = most_common(
        model
            .topic_lists
            .values()
            .iter()
            .flatten()
            .cloned()
            .map(Some),
    );
    // Two words of the sample's title as written (common words: many
    // matches), and its rarest word (few matches).
    let text = sample
        .content
        .title
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let mut word_counts = std::collections::HashMap::<String, usize>::new();
    for word in model
        .title_words
        .values()
        .iter()
        .chain(model.excerpt_words.values())
    {
        for word in search_words(word) {
            *word_counts.entry(word).or_default() += 1;
        }
    }
    let rare_word = search_words(&sample.content.title)
        .into_iter()
        .min_by_key(|word| (word_counts.get(word).copied().unwrap_or(0), word.clone()))
        .context("the sample title has a word")?;
    let year = |year: i32| Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).single();

    let mut reads: Vec<(String, PlannedRead)> = vec![
        (
            "GetArticle by id".into(),
            PlannedRead::Get(Lookup::Id(stored.id)),
        ),
        (
            "GetArticle by key".into(),
            PlannedRead::Get(Lookup::Key(ArticleKey::parse(sample.key.as_str(), "key")?)),
        ),
        (
            format!("GetArticle by url ({url})"),
            PlannedRead::Get(Lookup::Url(url.clone())),
        ),
    ];
    for order in [
        "published_date_time desc",
        "published_date_time asc",
        "heat desc",
        "heat asc",
        "quality desc",
        "quality asc",
    ] {
        reads.push((
            format!("List, order_by {order:?}, page 1"),
            PlannedRead::List(Box::new(page(ArticleQuery::default(), order)?)),
        ));
    }
    let filters: Vec<(String, ArticleQuery)> = vec![
        (
            format!("category = {category:?}"),
            ArticleQuery {
                category: Some(category.clone()),
                ..Default::default()
            },
        ),
        (
            format!("type = {kind:?}"),
            ArticleQuery {
                kind: Some(kind.clone()),
                ..Default::default()
            },
        ),
        (
            format!("provider_domain = {domain:?}"),
            ArticleQuery {
                provider_domain: Some(domain.clone()),
                ..Default::default()
            },
        ),
        (
            "published = true".into(),
            ArticleQuery {
                published: Some(true),
                ..Default::default()
            },
        ),
        (
            "published = false".into(),
            ArticleQuery {
                published: Some(false),
                ..Default::default()
            },
        ),
        (
            format!("topics = [{topic:?}]"),
            ArticleQuery {
                topics: vec![topic.clone()],
                ..Default::default()
            },
        ),
        (
            format!("url = {url:?}"),
            ArticleQuery {
                url: Some(url.clone()),
                ..Default::default()
            },
        ),
        (
            format!("text = {text:?}"),
            ArticleQuery {
                text: Some(text.clone()),
                ..Default::default()
            },
        ),
        (
            format!("text = {rare_word:?} (rare)"),
            ArticleQuery {
                text: Some(rare_word.clone()),
                ..Default::default()
            },
        ),
        (
            "min_heat = 50".into(),
            ArticleQuery {
                min_heat: Some(50),
                ..Default::default()
            },
        ),
        (
            "min_quality = 60, max_quality = 70".into(),
            ArticleQuery {
                min_quality: Some(60),
                max_quality: Some(70),
                ..Default::default()
            },
        ),
        (
            "published_after = 2021-01-01".into(),
            ArticleQuery {
                published_after: year(2021),
                ..Default::default()
            },
        ),
        (
            "published_before = 2019-01-01".into(),
            ArticleQuery {
                published_before: year(2019),
                ..Default::default()
            },
        ),
    ];
    for (label, query) in filters {
        for order in ["published_date_time desc", "heat desc"] {
            reads.push((
                format!("List, {label}, order_by {order:?}, page 1"),
                PlannedRead::List(Box::new(page(query.clone(), order)?)),
            ));
        }
    }
    progress(&format!("plans: following the cursor to page {deep_page}"));
    let mut deep = page(ArticleQuery::default(), "published_date_time desc")?;
    for _ in 1..deep_page {
        let next = store
            .list(&deep)
            .await?
            .next
            .context("fewer pages than asked")?;
        deep.after = Some(next);
    }
    reads.push((
        format!("List, no filter, newest first, page {deep_page}"),
        PlannedRead::List(Box::new(deep)),
    ));

    let version: String = store_version(loaded).await?;
    let mut summary = String::new();
    let mut details = String::new();
    for (label, read) in &reads {
        // Twice: the first run reads pages into the cache; the second is
        // the steady state the document shows.
        store.explain(read).await?;
        let plan = store.explain(read).await?;
        let indexes = indexes_in(&plan);
        let served = if plan.contains("Seq Scan") {
            "**no: sequential scan**".to_string()
        } else if indexes.is_empty() {
            "no index named".to_string()
        } else {
            indexes.join(", ")
        };
        let time = plan
            .lines()
            .find_map(|line| line.trim().strip_prefix("Execution Time: "))
            .unwrap_or("?");
        writeln!(summary, "| {label} | {served} | {time} |")?;
        writeln!(details, "### {label}\n\n```\n{plan}\n```\n")?;
    }
    let document = format!(
        "# PostgreSQL plans at {articles} articles\n\n\
         Generated by `NEWSWIRE_BENCH_ARTICLES={articles} cargo bench --bench postgres -- --plans` \
         on {date} (PostgreSQL {version}): {articles} synthetic articles \
         (`newswire::synthetic`, seed 2026) loaded by binary `COPY` into the schema the \
         store's migrations create, then `VACUUM (ANALYZE)`. Each plan is \
         `EXPLAIN (ANALYZE, BUFFERS)` of the statement the store runs for that read, with \
         its parameters bound as the store binds them (`PostgresStore::explain`), run twice \
         and the second shown. Pages are 50 articles; the last read is page {deep_page}, \
         reached by following the cursor.\n\n\
         | Read | Served by | Execution time |\n| --- | --- | --- |\n{summary}\n\
         ## Plans\n\n{details}",
        articles = loaded.articles,
        date = Utc::now().format("%Y-%m-%d %H:%M UTC"),
    );
    std::fs::write(document_path(), document)
        .with_context(|| format!("writing {}", document_path().display()))?;
    progress(&format!("wrote {}", document_path().display()));
    Ok(())
}

async fn store_version(loaded: &LoadedDatabase) -> anyhow::Result<String> {
    let client = crate::database::connect(loaded.database.url()).await?;
    Ok(client.query_one("SHOW server_version", &[]).await?.get(0))
}

/// The indexes a plan reads, in order of first appearance.
fn indexes_in(plan: &str) -> Vec<String> {
    let mut indexes: Vec<String> = Vec::new();
    for line in plan.lines() {
        let name = line
            .split_once(" using ")
            .or_else(|| line.split_once("Bitmap Index Scan on "))
            .and_then(|(_, rest)| rest.split_whitespace().next());
        if let Some(name) = name
            && !indexes.iter().any(|known| known == name)
        {
            indexes.push(name.to_string());
        }
    }
    indexes
}
