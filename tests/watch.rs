//! WatchArticles end to end over the embedded store, through the generated
//! Rust client: order, filters entering and leaving, resuming, snapshots,
//! stalled consumers, compaction and bad requests.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use newswire::proto::article_event::{FilterTransition, Type};
use newswire::proto::import_articles_request::Item;
use newswire::proto::{
    Article, ArticleQuery, CreateArticleRequest, DeleteArticleRequest, ImportArticlesRequest,
    ListArticlesRequest, UpdateArticleRequest, WatchArticlesRequest, delete_article_request,
};
use support::server::TestServer;
use support::status::assert_invalid_field;
use support::watch::{changes_through, is_change, next, request, summary, until_progress, watch};
use support::{corpus, history};
use tonic::Code;
use tonic_types::StatusExt;

fn article(key: &str, published: bool, heat: i32) -> Article {
    Article {
        key: key.to_string(),
        title: format!("Article {key}"),
        published_date_time: Some(prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        topics: vec!["Testing".to_string()],
        published: Some(published),
        heat: Some(heat),
        ..Article::default()
    }
}

async fn create(server: &TestServer, article: Article) -> Article {
    server
        .client()
        .await
        .create_article(CreateArticleRequest {
            article: Some(article),
        })
        .await
        .expect("create")
        .into_inner()
        .article
        .expect("an article")
}

async fn update(server: &TestServer, key: &str, published: bool, heat: i32) -> Article {
    let mut change = article(key, published, heat);
    change.title.clear();
    change.topics.clear();
    change.published_date_time = None;
    server
        .client()
        .await
        .update_article(UpdateArticleRequest {
            article: Some(change),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["published".to_string(), "heat".to_string()],
            }),
            etag: String::new(),
        })
        .await
        .expect("update")
        .into_inner()
        .article
        .expect("an article")
}

async fn delete(server: &TestServer, key: &str) -> i64 {
    server
        .client()
        .await
        .delete_article(DeleteArticleRequest {
            lookup: Some(delete_article_request::Lookup::Key(key.to_string())),
            etag: String::new(),
        })
        .await
        .expect("delete")
        .into_inner()
        .revision
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_arrives_once_in_revision_order() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let mut events = watch(&mut client, request(ArticleQuery::default(), None)).await;
    until_progress(&mut events).await;

    let a = create(&server, article("a", true, 1)).await;
    let b = create(&server, article("b", true, 2)).await;
    let a2 = update(&server, "a", true, 5).await;
    let deleted = delete(&server, "b").await;
    let changes = changes_through(&mut events, deleted).await;
    assert_eq!(
        summary(&changes),
        vec![
            (
                Type::Created,
                a.revision,
                "a".into(),
                FilterTransition::Unspecified
            ),
            (
                Type::Created,
                b.revision,
                "b".into(),
                FilterTransition::Unspecified
            ),
            (
                Type::Updated,
                a2.revision,
                "a".into(),
                FilterTransition::Unspecified
            ),
            (
                Type::Deleted,
                deleted,
                "b".into(),
                FilterTransition::Unspecified
            ),
        ]
    );
    assert_eq!(changes[2].article.as_ref().expect("article").heat, Some(5));
    // A delete carries the article as it was, with its id and URLs.
    assert_eq!(changes[3].article.as_ref().expect("article").id, b.id);
    assert!(changes.iter().all(|event| event.commit_time.is_some()));

    // Idle: progress events carry the revision reached.
    let progress = until_progress(&mut events).await;
    assert_eq!(progress, deleted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filtered_watch_sees_articles_enter_and_leave() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let published = ArticleQuery {
        published: Some(true),
        ..ArticleQuery::default()
    };
    let mut events = watch(&mut client, request(published, None)).await;
    until_progress(&mut events).await;

    let created = create(&server, article("a", true, 1)).await;
    create(&server, article("hidden", false, 1)).await;
    let left = update(&server, "a", false, 1).await;
    update(&server, "a", false, 2).await; // outside the filter: nothing
    let entered = update(&server, "a", true, 3).await;
    update(&server, "hidden", false, 9).await; // never matched: nothing
    let deleted = delete(&server, "a").await;
    delete(&server, "hidden").await;
    let last = create(&server, article("last", false, 0)).await;

    let changes = changes_through(&mut events, last.revision).await;
    assert_eq!(
        summary(&changes),
        vec![
            (
                Type::Created,
                created.revision,
                "a".into(),
                FilterTransition::Unspecified
            ),
            (
                Type::Updated,
                left.revision,
                "a".into(),
                FilterTransition::Left
            ),
            (
                Type::Updated,
                entered.revision,
                "a".into(),
                FilterTransition::Entered
            ),
            (
                Type::Deleted,
                deleted,
                "a".into(),
                FilterTransition::Unspecified
            ),
        ]
    );
    // The leaving update carries the article as it is now: unpublished.
    assert_eq!(
        changes[1].article.as_ref().expect("article").published,
        Some(false)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_resumes_after_the_last_revision_it_received() {
    let server = TestServer::start().await;
    for index in 0..6 {
        create(&server, article(&format!("before-{index}"), true, index)).await;
    }
    let mut client = server.client().await;
    let mut first = watch(&mut client, request(ArticleQuery::default(), Some(0))).await;
    let received = changes_through(&mut first, 3).await;
    assert_eq!(
        received
            .iter()
            .map(|event| event.revision)
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    drop(first);
    for index in 0..3 {
        create(&server, article(&format!("after-{index}"), true, index)).await;
    }
    let mut resumed = watch(&mut client, request(ArticleQuery::default(), Some(3))).await;
    let rest = changes_through(&mut resumed, 9).await;
    assert_eq!(
        rest.iter().map(|event| event.revision).collect::<Vec<_>>(),
        (4..=9).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_then_its_changes_hold_every_article_once() {
    let server = TestServer::start().await;
    let imported = server.import_corpus().await;
    assert_eq!(imported.failed, 0);
    let topic = ArticleQuery {
        topics: vec!["Power Apps".to_string()],
        ..ArticleQuery::default()
    };
    let mut client = server.client().await;
    let mut events = watch(
        &mut client,
        WatchArticlesRequest {
            send_initial: true,
            ..request(topic.clone(), None)
        },
    )
    .await;
    // Writes race the snapshot: re-import every corpus document with a new
    // heat, concurrently.
    let writer = {
        let server_url = server.url();
        tokio::spawn(async move {
            let mut client =
                newswire::proto::article_service_client::ArticleServiceClient::connect(server_url)
                    .await
                    .expect("connect");
            let requests: Vec<ImportArticlesRequest> = corpus::documents()
                .into_iter()
                .map(|document| ImportArticlesRequest {
                    source: document.source,
                    // A new body: an update that keeps every filter.
                    item: Some(Item::Document(format!("{}\nUpdated.\n", document.text))),
                })
                .collect();
            client
                .import_articles(tokio_stream::iter(requests))
                .await
                .expect("the concurrent import")
                .into_inner()
        })
    };

    // The state a consumer builds: the snapshot, then each change.
    let mut state: HashMap<String, Article> = HashMap::new();
    let snapshot_revision = loop {
        let event = next(&mut events).await.expect("the watch goes on");
        match Type::try_from(event.r#type).expect("a type") {
            Type::Initial => {
                let article = event.article.expect("an article");
                assert!(article.topics.contains(&"Power Apps".to_string()));
                assert!(
                    state.insert(article.key.clone(), article).is_none(),
                    "an article twice in the snapshot"
                );
            }
            Type::InitialDone => break event.revision,
            Type::Progress => {}
            other => panic!("{other:?} before the snapshot's end"),
        }
    };
    assert!(
        state
            .values()
            .all(|article| article.revision <= snapshot_revision),
        "the snapshot holds nothing newer than its revision"
    );
    let written = writer.await.expect("the writer task");
    assert_eq!(written.failed, 0);
    let last = written.last_revision.max(snapshot_revision);
    let changes = changes_through(&mut events, last).await;
    let mut previous = snapshot_revision;
    for event in changes {
        assert!(
            event.revision > previous,
            "changes follow the snapshot in order"
        );
        previous = event.revision;
        let article = event.article.expect("an article");
        match Type::try_from(event.r#type).expect("a type") {
            Type::Deleted => {
                state.remove(&article.key);
            }
            _ if event.filter_transition == FilterTransition::Left as i32 => {
                state.remove(&article.key);
            }
            _ => {
                state.insert(article.key.clone(), article);
            }
        }
    }

    // What the consumer holds is exactly what the server holds now.
    let mut expected: HashMap<String, Article> = HashMap::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_articles(ListArticlesRequest {
                query: Some(topic.clone()),
                page_size: 1000,
                page_token,
                order_by: String::new(),
            })
            .await
            .expect("list")
            .into_inner();
        for article in page.articles {
            expected.insert(article.key.clone(), article);
        }
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert!(!expected.is_empty());
    assert_eq!(state.len(), expected.len());
    for (key, article) in &expected {
        assert_eq!(state.get(key), Some(article), "{key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_watcher_is_ended_resumably_and_blocks_no_one() {
    // Room for two import batches (each broadcast at once).
    let mut config = support::server::anonymous_config();
    config.watch.buffer = 2 * newswire::api::MAX_IMPORT_BATCH as u32;
    let server = TestServer::start_configured(config).await;
    let entries = history::entries();
    let (expected, _) = history::expected_changes(&entries);
    let total = expected.len() as i64;
    let mut client = server.client().await;
    // This one is never read until the replay is over.
    let mut stalled = watch(&mut client, request(ArticleQuery::default(), None)).await;
    until_progress(&mut stalled).await;
    let mut reader_client = server.client().await;
    let mut reader = watch(&mut reader_client, request(ArticleQuery::default(), None)).await;
    until_progress(&mut reader).await;
    let reading = tokio::spawn(async move {
        changes_through(&mut reader, total)
            .await
            .iter()
            .map(|event| event.revision)
            .collect::<Vec<_>>()
    });

    // Writers are not held back by the stalled watcher.
    let imported = server
        .client()
        .await
        .import_articles(tokio_stream::iter(history::import_requests(&entries)))
        .await
        .expect("the replay")
        .into_inner();
    let last = imported.last_revision;
    assert_eq!(last, total);
    let seen = reading.await.expect("the reading task");
    assert_eq!(
        seen,
        (1..=last).collect::<Vec<_>>(),
        "the reader missed nothing"
    );

    // The stalled watcher gets what was queued, then RESOURCE_EXHAUSTED
    // naming the revision to resume after.
    let mut received = Vec::new();
    let status = loop {
        match next(&mut stalled).await {
            Ok(event) if is_change(&event) => received.push(event.revision),
            Ok(_) => {}
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let info = status
        .get_details_error_info()
        .expect("google.rpc.ErrorInfo details");
    assert_eq!(info.reason, "WATCHER_TOO_SLOW");
    let resume_after: i64 = info.metadata["last_revision"].parse().expect("a revision");
    assert!(status.message().contains(&resume_after.to_string()));
    assert!(resume_after < last, "it really fell behind");
    assert_eq!(
        received,
        (1..=resume_after).collect::<Vec<_>>(),
        "everything up to the resume point was delivered"
    );
    let mut resumed = watch(
        &mut client,
        request(ArticleQuery::default(), Some(resume_after)),
    )
    .await;
    let rest: Vec<i64> = changes_through(&mut resumed, last)
        .await
        .iter()
        .map(|event| event.revision)
        .collect();
    assert_eq!(rest, (resume_after + 1..=last).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_before_the_retention_is_out_of_range_naming_the_oldest() {
    let mut config = support::server::anonymous_config();
    config.change_log.max_age = Duration::ZERO;
    config.change_log.max_entries = 5;
    config.change_log.compaction_interval = Duration::from_millis(50);
    let server = TestServer::start_configured(config).await;
    for index in 0..20 {
        create(&server, article(&format!("a-{index}"), true, index)).await;
    }
    let mut client = server.client().await;
    // Compaction runs in the background: wait for it with a deadline.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        let mut events = watch(&mut client, request(ArticleQuery::default(), Some(0))).await;
        match next(&mut events).await {
            Err(status)
                if status.code() == Code::OutOfRange
                    && status
                        .get_details_error_info()
                        .is_some_and(|info| info.metadata["oldest_revision"] == "15") =>
            {
                break status;
            }
            other => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "never compacted: {other:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let info = status
        .get_details_error_info()
        .expect("google.rpc.ErrorInfo details");
    assert_eq!(info.reason, "REVISION_COMPACTED");
    assert_eq!(info.metadata["oldest_revision"], "15");
    assert!(status.message().contains("15"), "{}", status.message());
    let mut events = watch(&mut client, request(ArticleQuery::default(), Some(15))).await;
    let rest: Vec<i64> = changes_through(&mut events, 20)
        .await
        .iter()
        .map(|event| event.revision)
        .collect();
    assert_eq!(rest, (16..=20).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_watch_requests_name_the_field() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let cases = [
        (
            WatchArticlesRequest {
                start_revision: Some(-1),
                ..WatchArticlesRequest::default()
            },
            "start_revision",
        ),
        (
            WatchArticlesRequest {
                start_revision: Some(0),
                send_initial: true,
                ..WatchArticlesRequest::default()
            },
            "send_initial",
        ),
        (
            WatchArticlesRequest {
                progress_interval: Some(prost_types::Duration {
                    seconds: 0,
                    nanos: 1_000,
                }),
                ..WatchArticlesRequest::default()
            },
            "progress_interval",
        ),
        (
            WatchArticlesRequest {
                filter: Some(ArticleQuery {
                    min_heat: Some(5),
                    max_heat: Some(1),
                    ..ArticleQuery::default()
                }),
                ..WatchArticlesRequest::default()
            },
            "filter.min_heat",
        ),
    ];
    for (request, field) in cases {
        let status = client
            .watch_articles(request)
            .await
            .expect_err("refused before streaming");
        assert_invalid_field(&status, field);
    }
    // Ahead of the newest revision: refused, not silently waited for.
    let mut events = watch(&mut client, request(ArticleQuery::default(), Some(100))).await;
    let status = next(&mut events).await.expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("start_revision"), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_ends_unavailable_when_the_server_shuts_down() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let mut events = watch(&mut client, request(ArticleQuery::default(), None)).await;
    until_progress(&mut events).await;
    drop(server);
    let status = loop {
        match next(&mut events).await {
            Ok(_) => continue,
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("start_revision"), "{status:?}");
}
