//! End-to-end tests of ArticleService through the generated Rust client
//! against a real server on an ephemeral port, each run on both stores:
//! `NAME::sqlite` over a fresh SQLite file as `serve` opens it, and
//! `NAME::postgres` over a fresh PostgreSQL database. Every RPC must behave
//! identically on both.

mod support;

use std::collections::{HashMap, HashSet};

use newswire::article::ArticleContent;
use newswire::convert::from_proto::article_from_proto;
use newswire::proto::{
    self, Article, ArticleQuery, BatchGetArticlesRequest, CreateArticleRequest,
    DeleteArticleRequest, GetArticleRequest, ImportArticlesRequest, ListArticlesRequest,
    UpdateArticleRequest, get_article_request, import_articles_request::Item,
};
use newswire::wire::timestamp;
use prost_types::FieldMask;
use support::corpus;
use support::server::TestServer;
use tonic::Code;
use tonic_types::StatusExt;

type Client = proto::article_service_client::ArticleServiceClient<tonic::transport::Channel>;

/// Runs each named test body, `async fn NAME(server: TestServer)`, once
/// on each store, as the tests `NAME::sqlite` and `NAME::postgres`.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(super::TestServer::start().await).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$name(super::TestServer::start_postgres().await).await;
            }
        }
    )*};
}

on_both_stores!(
    imports_the_whole_corpus_and_reads_every_document_back,
    list_filters_orders_and_pages_agree_with_an_independent_computation,
    paging_while_others_write_never_repeats_nor_misses_an_existing_row,
    create_update_delete_with_etags_and_revisions,
    batch_get_keeps_order_and_is_all_or_nothing,
    invalid_requests_name_the_field,
    a_bad_document_fails_alone_and_is_not_stored,
);

fn key_of(source: &str) -> String {
    source
        .rsplit_once('.')
        .map_or(source, |(stem, _)| stem)
        .to_string()
}

fn parsed_corpus() -> Vec<(String, ArticleContent)> {
    corpus::documents()
        .into_iter()
        .map(|document| {
            let content =
                newswire::document::parse(&document.source, &document.text).expect("corpus parses");
            (key_of(&document.source), content)
        })
        .collect()
}

async fn get(
    client: &mut Client,
    lookup: get_article_request::Lookup,
) -> Result<Article, tonic::Status> {
    let response = client
        .get_article(GetArticleRequest {
            lookup: Some(lookup),
        })
        .await?;
    Ok(response.into_inner().article.expect("an article"))
}

async fn list_all(
    client: &mut Client,
    query: Option<ArticleQuery>,
    order_by: &str,
    page_size: i32,
) -> Vec<Article> {
    let mut articles = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = ListArticlesRequest {
            query: query.clone(),
            page_size,
            page_token,
            order_by: order_by.into(),
        };
        let page = client
            .list_articles(request)
            .await
            .expect("list succeeds")
            .into_inner();
        assert!(
            page.articles.len() <= page_size as usize,
            "a page is never larger than asked"
        );
        articles.extend(page.articles);
        if page.next_page_token.is_empty() {
            return articles;
        }
        page_token = page.next_page_token;
    }
}

fn content_of(article: &Article) -> ArticleContent {
    article_from_proto(article, "article")
        .expect("a served article converts")
        .1
}

fn bad_request_fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|details| {
            details
                .field_violations
                .into_iter()
                .map(|violation| violation.field)
                .collect()
        })
        .unwrap_or_default()
}

async fn imports_the_whole_corpus_and_reads_every_document_back(server: TestServer) {
    let summary = server.import_corpus().await;
    assert_eq!(summary.failures, vec![], "no corpus document fails");
    assert_eq!(
        (summary.created, summary.updated, summary.failed),
        (corpus::DOCUMENT_COUNT as i64, 0, 0)
    );

    let mut client = server.client().await;
    let documents = parsed_corpus();
    let mut by_url: HashMap<String, Vec<&(String, ArticleContent)>> = HashMap::new();
    for document in &documents {
        for url in document.1.urls() {
            by_url.entry(url.to_string()).or_default().push(document);
        }
    }
    for (key, content) in &documents {
        let article = get(&mut client, get_article_request::Lookup::Key(key.clone()))
            .await
            .expect("found by key");
        assert_eq!(&article.key, key);
        assert_eq!(
            &content_of(&article),
            content,
            "{key} comes back as imported"
        );
        let by_id = get(
            &mut client,
            get_article_request::Lookup::Id(article.id.clone()),
        )
        .await
        .expect("by id");
        assert_eq!(by_id, article);
    }
    let mut shared_urls = 0;
    for (url, holders) in &by_url {
        let article = get(&mut client, get_article_request::Lookup::Url(url.clone()))
            .await
            .expect("found by url");
        let newest = holders
            .iter()
            .map(|(_, content)| content.published_date_time)
            .max()
            .expect("a holder");
        assert!(content_of(&article).urls().contains(&url.as_str()));
        assert_eq!(
            content_of(&article).published_date_time,
            newest,
            "{url}: the most recently published wins"
        );
        if holders.len() > 1 {
            shared_urls += 1;
            let query = ArticleQuery {
                url: Some(url.clone()),
                ..ArticleQuery::default()
            };
            let all = list_all(&mut client, Some(query), "", 10).await;
            let mut keys: Vec<String> = all.into_iter().map(|article| article.key).collect();
            let mut expected: Vec<String> = holders.iter().map(|(key, _)| key.clone()).collect();
            keys.sort();
            expected.sort();
            assert_eq!(
                keys, expected,
                "a url filter returns every article with {url}"
            );
        }
    }
    assert!(
        shared_urls >= 4,
        "the corpus has articles sharing a URL; found {shared_urls}"
    );

    let again = server.import_corpus().await;
    assert_eq!(
        (again.created, again.updated, again.unchanged),
        (0, 0, corpus::DOCUMENT_COUNT as i64)
    );
    assert_eq!(
        again.last_revision, 0,
        "an unchanged import commits nothing"
    );
}

/// One query case: the request-side query and an independent predicate.
struct Case {
    name: &'static str,
    query: ArticleQuery,
    predicate: Box<dyn Fn(&ArticleContent) -> bool>,
}

fn query_cases(sample: &ArticleContent) -> Vec<Case> {
    let domain = sample
        .provider
        .as_ref()
        .and_then(|provider| provider.domain.clone())
        .expect("a provider domain");
    let at = sample.published_date_time;
    let word = sample
        .title
        .split_whitespace()
        .find(|word| word.len() > 4)
        .expect("a long word")
        .to_lowercase();
    let word: String = word
        .chars()
        .filter(|character| character.is_alphanumeric())
        .collect();
    let prefix: String = word.chars().take(4).collect();
    let text_prefix = prefix.clone();
    let domain_filter = domain.clone();
    vec![
        Case {
            name: "everything",
            query: ArticleQuery::default(),
            predicate: Box::new(|_| true),
        },
        Case {
            name: "topic Power Apps or AI",
            query: ArticleQuery {
                topics: vec!["Power Apps".into(), "AI".into()],
                ..Default::default()
            },
            predicate: Box::new(|content| {
                content
                    .topics
                    .iter()
                    .any(|topic| topic == "Power Apps" || topic == "AI")
            }),
        },
        Case {
            name: "type video, published",
            query: ArticleQuery {
                r#type: Some("video".into()),
                published: Some(true),
                ..Default::default()
            },
            predicate: Box::new(|content| {
                content.kind.as_deref() == Some("video") && content.published == Some(true)
            }),
        },
        Case {
            name: "unpublished",
            query: ArticleQuery {
                published: Some(false),
                ..Default::default()
            },
            predicate: Box::new(|content| content.published == Some(false)),
        },
        Case {
            name: "provider domain",
            query: ArticleQuery {
                provider_domain: Some(domain),
                ..Default::default()
            },
            predicate: Box::new(move |content| {
                content
                    .provider
                    .as_ref()
                    .and_then(|provider| provider.domain.as_deref())
                    == Some(domain_filter.as_str())
            }),
        },
        Case {
            name: "heat and quality ranges",
            query: ArticleQuery {
                min_heat: Some(50),
                max_heat: Some(200),
                min_quality: Some(10),
                ..Default::default()
            },
            predicate: Box::new(|content| {
                content.heat.is_some_and(|heat| (50..=200).contains(&heat))
                    && content.quality.is_some_and(|quality| quality >= 10)
            }),
        },
        Case {
            name: "published window and category",
            query: ArticleQuery {
                category: Some("news".into()),
                published_after: Some(timestamp(at - chrono::Duration::days(200))),
                published_before: Some(timestamp(at)),
                ..Default::default()
            },
            predicate: Box::new(move |content| {
                content.category.as_deref() == Some("news")
                    && content.published_date_time >= at - chrono::Duration::days(200)
                    && content.published_date_time < at
            }),
        },
        Case {
            name: "text prefix",
            query: ArticleQuery {
                text: Some(prefix),
                ..Default::default()
            },
            predicate: Box::new(move |content| {
                let text = format!(
                    "{} {}",
                    content.title,
                    content.excerpt.clone().unwrap_or_default()
                )
                .to_lowercase();
                text.split(|character: char| !character.is_alphanumeric())
                    .any(|word| word.starts_with(&text_prefix))
            }),
        },
    ]
}

async fn list_filters_orders_and_pages_agree_with_an_independent_computation(server: TestServer) {
    server.import_corpus().await;
    let mut client = server.client().await;
    let everything = list_all(&mut client, None, "", 1000).await;
    assert_eq!(everything.len(), corpus::DOCUMENT_COUNT);
    let contents: Vec<(String, ArticleContent)> = everything
        .iter()
        .map(|article| (article.id.clone(), content_of(article)))
        .collect();
    let sample = &parsed_corpus()[0].1;

    for case in query_cases(sample) {
        for order_by in [
            "",
            "published_date_time asc",
            "heat desc",
            "heat asc",
            "quality desc",
            "quality asc",
        ] {
            let mut expected: Vec<&(String, ArticleContent)> = contents
                .iter()
                .filter(|(_, content)| (case.predicate)(content))
                .collect();
            let value = |content: &ArticleContent| -> i64 {
                match order_by
                    .split_whitespace()
                    .next()
                    .unwrap_or("published_date_time")
                {
                    "heat" => content.heat.map_or(i64::MIN, i64::from),
                    "quality" => content.quality.map_or(i64::MIN, i64::from),
                    _ => content.published_date_time.timestamp_micros(),
                }
            };
            expected.sort_by(|(left_id, left), (right_id, right)| {
                (value(left), left_id.as_str()).cmp(&(value(right), right_id.as_str()))
            });
            if !order_by.ends_with("asc") {
                expected.reverse();
            }
            let expected: Vec<&str> = expected.iter().map(|(id, _)| id.as_str()).collect();
            let listed = list_all(&mut client, Some(case.query.clone()), order_by, 37).await;
            let listed: Vec<&str> = listed.iter().map(|article| article.id.as_str()).collect();
            assert_eq!(
                listed, expected,
                "case {:?} ordered by {order_by:?}",
                case.name
            );
        }
    }
}

async fn paging_while_others_write_never_repeats_nor_misses_an_existing_row(server: TestServer) {
    server.import_corpus().await;
    let mut client = server.client().await;
    let mut writer = server.client().await;
    let before: Vec<Article> = list_all(&mut client, None, "", 1000).await;
    let mut deleted = HashSet::new();
    let mut seen = Vec::new();
    let mut page_token = String::new();
    let mut round = 0;
    loop {
        let request = ListArticlesRequest {
            page_size: 50,
            page_token,
            ..Default::default()
        };
        let page = client
            .list_articles(request)
            .await
            .expect("list")
            .into_inner();
        seen.extend(page.articles.iter().map(|article| article.id.clone()));
        // Between pages: insert articles on both sides of the cursor and delete one not yet seen.
        let mut created = new_article(&format!("concurrent-{round}"));
        created.published_date_time = Some(timestamp(
            chrono::Utc::now() - chrono::Duration::days(round * 97),
        ));
        writer
            .create_article(CreateArticleRequest {
                article: Some(created),
            })
            .await
            .expect("create");
        if let Some(victim) = before
            .iter()
            .rev()
            .find(|article| !seen.contains(&article.id) && !deleted.contains(&article.id))
        {
            let request = DeleteArticleRequest {
                lookup: Some(proto::delete_article_request::Lookup::Id(victim.id.clone())),
                etag: String::new(),
            };
            writer.delete_article(request).await.expect("delete");
            deleted.insert(victim.id.clone());
        }
        round += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no article is listed twice");
    for article in &before {
        assert!(
            deleted.contains(&article.id) || unique.contains(&article.id),
            "{} existed before the first page and was not deleted, yet was missed",
            article.key
        );
    }
    assert!(!deleted.is_empty());
}

fn new_article(key: &str) -> Article {
    Article {
        key: key.to_string(),
        title: format!("Title of {key}"),
        excerpt: Some("An excerpt".into()),
        published_date_time: Some(timestamp(chrono::Utc::now())),
        original_url: Some(format!("https://example.com/{key}")),
        topics: vec!["Testing".into()],
        heat: Some(5),
        ..Default::default()
    }
}

async fn create_update_delete_with_etags_and_revisions(server: TestServer) {
    let mut client = server.client().await;
    let created = client
        .create_article(CreateArticleRequest {
            article: Some(new_article("crud")),
        })
        .await
        .expect("create")
        .into_inner()
        .article
        .expect("an article");
    assert!(!created.id.is_empty() && !created.etag.is_empty() && created.revision > 0);
    assert_eq!(created.heat, Some(5));
    assert_eq!(created.quality, None, "an absent field stays absent");

    let duplicate = client
        .create_article(CreateArticleRequest {
            article: Some(new_article("crud")),
        })
        .await;
    assert_eq!(
        duplicate.expect_err("duplicate key").code(),
        Code::AlreadyExists
    );

    let change = Article {
        id: created.id.clone(),
        heat: Some(99),
        title: "ignored".into(),
        ..Default::default()
    };
    let request = UpdateArticleRequest {
        article: Some(change.clone()),
        update_mask: Some(FieldMask {
            paths: vec!["heat".into()],
        }),
        etag: created.etag.clone(),
    };
    let updated = client
        .update_article(request.clone())
        .await
        .expect("update")
        .into_inner()
        .article
        .expect("article");
    assert_eq!(updated.heat, Some(99));
    assert_eq!(
        updated.title, created.title,
        "fields outside the mask are kept"
    );
    assert!(updated.revision > created.revision);
    assert_ne!(updated.etag, created.etag);
    assert_eq!(updated.create_time, created.create_time);

    let stale = client
        .update_article(request)
        .await
        .expect_err("stale etag");
    assert_eq!(stale.code(), Code::FailedPrecondition);
    assert!(stale.message().contains("etag"), "{}", stale.message());
    let current = get(
        &mut client,
        get_article_request::Lookup::Id(created.id.clone()),
    )
    .await
    .expect("get");
    assert_eq!(current, updated, "a failed precondition changes nothing");

    let stale_delete = DeleteArticleRequest {
        lookup: Some(proto::delete_article_request::Lookup::Key("crud".into())),
        etag: created.etag.clone(),
    };
    assert_eq!(
        client
            .delete_article(stale_delete)
            .await
            .expect_err("stale")
            .code(),
        Code::FailedPrecondition
    );
    let delete = DeleteArticleRequest {
        lookup: Some(proto::delete_article_request::Lookup::Key("crud".into())),
        etag: updated.etag.clone(),
    };
    let deleted = client
        .delete_article(delete)
        .await
        .expect("delete")
        .into_inner();
    assert_eq!(deleted.id, created.id);
    assert!(deleted.revision > updated.revision);
    let gone = get(&mut client, get_article_request::Lookup::Key("crud".into()))
        .await
        .expect_err("deleted");
    assert_eq!(gone.code(), Code::NotFound);
    assert!(
        gone.message().contains("crud"),
        "NOT_FOUND names what was asked: {}",
        gone.message()
    );
}

async fn batch_get_keeps_order_and_is_all_or_nothing(server: TestServer) {
    server.import_corpus().await;
    let mut client = server.client().await;
    let keys: Vec<String> = parsed_corpus()
        .iter()
        .rev()
        .take(5)
        .map(|(key, _)| key.clone())
        .collect();
    let response = client
        .batch_get_articles(BatchGetArticlesRequest {
            keys: keys.clone(),
            ..Default::default()
        })
        .await
        .expect("batch get")
        .into_inner();
    let returned: Vec<String> = response
        .articles
        .into_iter()
        .map(|article| article.key)
        .collect();
    assert_eq!(returned, keys);

    let mut with_missing = keys.clone();
    with_missing.insert(2, "no-such-article".into());
    with_missing.push("nor-this-one".into());
    let status = client
        .batch_get_articles(BatchGetArticlesRequest {
            keys: with_missing,
            ..Default::default()
        })
        .await
        .expect_err("missing keys");
    assert_eq!(status.code(), Code::NotFound);
    assert!(
        status.message().contains("no-such-article") && status.message().contains("nor-this-one")
    );

    let both = BatchGetArticlesRequest {
        keys,
        urls: vec!["https://x".into()],
        ..Default::default()
    };
    let status = client
        .batch_get_articles(both)
        .await
        .expect_err("two lists");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(bad_request_fields(&status), vec!["urls"]);
    let too_many = BatchGetArticlesRequest {
        keys: vec!["k".into(); 1001],
        ..Default::default()
    };
    assert_eq!(
        client
            .batch_get_articles(too_many)
            .await
            .expect_err("too many")
            .code(),
        Code::InvalidArgument
    );
}

async fn invalid_requests_name_the_field(server: TestServer) {
    server.import_corpus().await;
    let mut client = server.client().await;

    let cases: Vec<(ListArticlesRequest, &str)> = vec![
        (
            ListArticlesRequest {
                page_size: -1,
                ..Default::default()
            },
            "page_size",
        ),
        (
            ListArticlesRequest {
                page_size: 1001,
                ..Default::default()
            },
            "page_size",
        ),
        (
            ListArticlesRequest {
                order_by: "title".into(),
                ..Default::default()
            },
            "order_by",
        ),
        (
            ListArticlesRequest {
                order_by: "heat sideways".into(),
                ..Default::default()
            },
            "order_by",
        ),
        (
            ListArticlesRequest {
                page_token: "garbage".into(),
                ..Default::default()
            },
            "page_token",
        ),
        (
            ListArticlesRequest {
                query: Some(ArticleQuery {
                    min_heat: Some(10),
                    max_heat: Some(1),
                    ..Default::default()
                }),
                ..Default::default()
            },
            "query.min_heat",
        ),
        (
            ListArticlesRequest {
                query: Some(ArticleQuery {
                    text: Some("  --  ".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            "query.text",
        ),
    ];
    for (request, field) in cases {
        let status = client
            .list_articles(request.clone())
            .await
            .expect_err("invalid");
        assert_eq!(status.code(), Code::InvalidArgument, "{request:?}");
        assert_eq!(bad_request_fields(&status), vec![field], "{request:?}");
        assert!(
            status.message().contains(field),
            "the message names {field}: {}",
            status.message()
        );
    }

    let first = client
        .list_articles(ListArticlesRequest {
            page_size: 2,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    let other_query = ListArticlesRequest {
        page_size: 2,
        page_token: first.next_page_token,
        order_by: "heat desc".into(),
        ..Default::default()
    };
    let status = client
        .list_articles(other_query)
        .await
        .expect_err("token of another order");
    assert_eq!(bad_request_fields(&status), vec!["page_token"]);

    let status = client
        .get_article(GetArticleRequest { lookup: None })
        .await
        .expect_err("no lookup");
    assert_eq!(status.code(), Code::InvalidArgument);
    let status = get(
        &mut client,
        get_article_request::Lookup::Id("not-a-uuid".into()),
    )
    .await
    .expect_err("bad id");
    assert_eq!(bad_request_fields(&status), vec!["id"]);
    let status = get(
        &mut client,
        get_article_request::Lookup::Url("https://nowhere.example/".into()),
    )
    .await
    .expect_err("unknown url");
    assert_eq!(status.code(), Code::NotFound);
    assert!(status.message().contains("https://nowhere.example/"));

    let untitled = Article {
        title: String::new(),
        ..new_article("untitled")
    };
    let status = client
        .create_article(CreateArticleRequest {
            article: Some(untitled),
        })
        .await
        .expect_err("no title");
    assert_eq!(bad_request_fields(&status), vec!["article.title"]);
    let undated = Article {
        published_date_time: None,
        ..new_article("undated")
    };
    let status = client
        .create_article(CreateArticleRequest {
            article: Some(undated),
        })
        .await
        .expect_err("no date");
    assert_eq!(
        bad_request_fields(&status),
        vec!["article.published_date_time"]
    );

    let update = UpdateArticleRequest {
        article: Some(Article {
            key: key_of(&corpus::documents()[0].source),
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["heat".into(), "revision".into(), "nonsense".into()],
        }),
        etag: String::new(),
    };
    let status = client.update_article(update).await.expect_err("bad mask");
    assert_eq!(
        bad_request_fields(&status),
        vec!["update_mask.paths[1]", "update_mask.paths[2]"]
    );
}

async fn a_bad_document_fails_alone_and_is_not_stored(server: TestServer) {
    let mut client = server.client().await;
    let documents = corpus::documents();
    let broken = documents[1]
        .text
        .replacen("quality: ", "quality: not-a-number-", 1);
    let oversized = format!(
        "{}{}",
        documents[2].text,
        "x".repeat(newswire::document::MAX_DOCUMENT_BYTES)
    );
    let requests = vec![
        ImportArticlesRequest {
            source: documents[0].source.clone(),
            item: Some(Item::Document(documents[0].text.clone())),
        },
        ImportArticlesRequest {
            source: documents[1].source.clone(),
            item: Some(Item::Document(broken)),
        },
        ImportArticlesRequest {
            source: documents[2].source.clone(),
            item: Some(Item::Document(oversized)),
        },
        ImportArticlesRequest {
            source: "empty".into(),
            item: None,
        },
        ImportArticlesRequest {
            source: documents[3].source.clone(),
            item: Some(Item::Document(documents[3].text.clone())),
        },
    ];
    let summary = client
        .import_articles(tokio_stream::iter(requests))
        .await
        .expect("import")
        .into_inner();
    assert_eq!((summary.created, summary.failed), (2, 3), "{summary:?}");
    let failed: Vec<(i64, &str)> = summary
        .failures
        .iter()
        .map(|failure| (failure.index, failure.source.as_str()))
        .collect();
    assert_eq!(
        failed,
        vec![
            (1, documents[1].source.as_str()),
            (2, documents[2].source.as_str()),
            (3, "empty")
        ]
    );
    let quality_failure = &summary.failures[0].reason;
    assert!(
        quality_failure.contains(&documents[1].source) && quality_failure.contains("quality"),
        "the reason names the source and the field: {quality_failure}"
    );
    for (index, expected) in [(0, true), (1, false), (2, false), (3, true)] {
        let key = key_of(&documents[index].source);
        let found = get(&mut client, get_article_request::Lookup::Key(key.clone())).await;
        assert_eq!(found.is_ok(), expected, "{key} stored: {found:?}");
    }
}
