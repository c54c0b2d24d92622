//! The change feed across replicas: two newswire servers over one fresh
//! PostgreSQL database. The feeds poll only once an hour here, so a change
//! made through the other replica can only arrive in time through
//! LISTEN/NOTIFY.
//!
//! - The real history (`powerapps-history.jsonl.gz`, 6,956 upserts) is
//!   replayed through replica A while four watchers run: on a topic, on a
//!   heat bound (articles enter and leave it), one that disconnects half-way
//!   and resumes from its last revision, and one on replica B. Each must
//!   see exactly the events computed from the history file alone.
//! - Concurrent writers on both replicas, with watchers on both that drop
//!   and resume again and again: each sees every committed revision once,
//!   in order (ordered, unique, reliable, resumable).

mod support;

use std::sync::Arc;
use std::time::Duration;

use newswire::article::ArticleContent;
use newswire::convert::from_proto::article_from_proto;
use newswire::proto::article_event::{FilterTransition, Type};
use newswire::proto::article_service_client::ArticleServiceClient;
use newswire::proto::{
    Article, ArticleEvent, ArticleQuery, CreateArticleRequest, GetArticleRequest,
    UpdateArticleRequest, get_article_request,
};
use newswire::store::postgres::{PostgresOptions, PostgresStore};
use support::history::{self, ExpectedChange};
use support::postgres::TestDatabase;
use support::server::TestServer;
use support::watch::{changes_through, next, request, summary, until_progress, watch};
use tonic::transport::Channel;

type Client = ArticleServiceClient<Channel>;

struct Replicas {
    first: TestServer,
    second: TestServer,
    // Dropped last: the servers' connections are forced off when it drops.
    _database: TestDatabase,
}

impl Replicas {
    async fn start() -> Self {
        let database = TestDatabase::create().await;
        let mut config = support::server::anonymous_config();
        config.watch.poll_interval = Duration::from_secs(3600);
        let mut servers = Vec::new();
        for _ in 0..2 {
            let store = PostgresStore::connect_with(
                database.url(),
                PostgresOptions {
                    pool_size: 8,
                    ..PostgresOptions::default()
                },
                newswire::wire::article_encoder(),
            )
            .await
            .expect("the store connects");
            let data = tempfile::tempdir().expect("a temporary directory");
            servers
                .push(TestServer::start_with_config(Arc::new(store), data, config.clone()).await);
        }
        let second = servers.pop().expect("two servers");
        let first = servers.pop().expect("two servers");
        Self {
            first,
            second,
            _database: database,
        }
    }
}

/// (type, revision, key, transition) as a watcher must see it.
type Expected = (Type, i64, String, FilterTransition);

/// The events a watch with `matches` as its filter must receive, computed
/// from the history alone (revisions are 1, 2, 3 … on a fresh database).
fn expected_events(
    changes: &[ExpectedChange],
    matches: impl Fn(&ArticleContent) -> bool,
) -> Vec<Expected> {
    changes
        .iter()
        .enumerate()
        .filter_map(|(index, change)| {
            let revision = index as i64 + 1;
            let now = matches(&change.after);
            let kind = if change.created {
                Type::Created
            } else {
                Type::Updated
            };
            let transition = match (change.before.as_ref().map(&matches), now) {
                (None, true) | (Some(true), true) => FilterTransition::Unspecified,
                (Some(false), true) => FilterTransition::Entered,
                (Some(true), false) => FilterTransition::Left,
                (None, false) | (Some(false), false) => return None,
            };
            Some((kind, revision, change.key.clone(), transition))
        })
        .collect()
}

/// Every event carries the article exactly as the history wrote it.
fn assert_contents(events: &[ArticleEvent], changes: &[ExpectedChange]) {
    for event in events {
        let article = event.article.as_ref().expect("an article");
        let (_, content) = article_from_proto(article, "article").expect("converts");
        let change = &changes[event.revision as usize - 1];
        assert_eq!(content, change.after, "revision {}", event.revision);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_history_replay_reaches_every_watcher_exactly() {
    let replicas = Replicas::start().await;
    let entries = history::entries();
    let (changes, last_versions) = history::expected_changes(&entries);
    let last = changes.len() as i64;

    let topic = |content: &ArticleContent| content.topics.iter().any(|topic| topic == "Portals");
    let hot = |content: &ArticleContent| content.heat.is_some_and(|heat| heat >= 100);
    let every = |_: &ArticleContent| true;
    let expected_topic = expected_events(&changes, topic);
    let expected_hot = expected_events(&changes, hot);
    let expected_all = expected_events(&changes, every);
    assert!(
        expected_hot
            .iter()
            .any(|event| event.3 == FilterTransition::Entered)
            && expected_hot
                .iter()
                .any(|event| event.3 == FilterTransition::Left),
        "the heat filter is entered and left in the history"
    );

    let mut first_client = replicas.first.client().await;
    let mut second_client = replicas.second.client().await;
    let mut on_topic = watch(
        &mut first_client,
        request(
            ArticleQuery {
                topics: vec!["Portals".to_string()],
                ..ArticleQuery::default()
            },
            None,
        ),
    )
    .await;
    let mut on_heat = watch(
        &mut first_client,
        request(
            ArticleQuery {
                min_heat: Some(100),
                ..ArticleQuery::default()
            },
            None,
        ),
    )
    .await;
    let mut resuming_client = replicas.first.client().await;
    let mut resuming = watch(&mut resuming_client, request(ArticleQuery::default(), None)).await;
    let mut on_second = watch(&mut second_client, request(ArticleQuery::default(), None)).await;
    for events in [&mut on_topic, &mut on_heat, &mut resuming, &mut on_second] {
        assert_eq!(until_progress(events).await, 0, "live before the replay");
    }

    let collect = |mut events: tonic::Streaming<_>| {
        tokio::spawn(async move { changes_through(&mut events, last).await })
    };
    let topic_task = collect(on_topic);
    let heat_task = collect(on_heat);
    let second_task = collect(on_second);
    let resuming_task = tokio::spawn(async move {
        // Half-way, it disconnects, and watches again after what it got.
        let half = last / 2;
        let mut received = changes_through(&mut resuming, half).await;
        drop(resuming);
        let resume_after = received.last().expect("events").revision;
        let mut again = watch(
            &mut resuming_client,
            request(ArticleQuery::default(), Some(resume_after)),
        )
        .await;
        received.extend(changes_through(&mut again, last).await);
        received
    });

    let imported = first_client
        .import_articles(tokio_stream::iter(history::import_requests(&entries)))
        .await
        .expect("the replay")
        .into_inner();
    assert_eq!(imported.failed, 0);
    assert_eq!(imported.last_revision, last, "one revision per change");

    let on_topic = topic_task.await.expect("the topic watcher");
    let on_heat = heat_task.await.expect("the heat watcher");
    let on_second = second_task.await.expect("the second replica's watcher");
    let resumed = resuming_task.await.expect("the resuming watcher");
    assert_eq!(summary(&on_topic), expected_topic, "topic watcher");
    assert_eq!(summary(&on_heat), expected_hot, "heat watcher");
    assert_eq!(summary(&resumed), expected_all, "resuming watcher");
    assert_eq!(
        summary(&on_second),
        expected_all,
        "second replica's watcher"
    );
    assert_contents(&on_second, &changes);
    assert_contents(&on_heat, &changes);

    // The final state is the last version of every document.
    for (key, content) in &last_versions {
        let article = second_client
            .get_article(GetArticleRequest {
                lookup: Some(get_article_request::Lookup::Key(key.clone())),
            })
            .await
            .expect("found")
            .into_inner()
            .article
            .expect("an article");
        let (_, served) = article_from_proto(&article, "article").expect("converts");
        assert_eq!(&served, content, "{key}");
    }
}

fn article(key: &str, heat: i32) -> Article {
    Article {
        key: key.to_string(),
        title: format!("Article {key}"),
        published_date_time: Some(prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        topics: vec!["Testing".to_string()],
        heat: Some(heat),
        ..Article::default()
    }
}

/// Creates, then updates again and again, `count` articles through `client`.
async fn write(mut client: Client, prefix: &'static str, count: usize) -> i64 {
    let mut last = 0;
    for index in 0..count {
        let key = format!("{prefix}-{}", index % 10);
        let revision = if index < 10 {
            client
                .create_article(CreateArticleRequest {
                    article: Some(article(&key, 0)),
                })
                .await
                .expect("create")
                .into_inner()
                .article
        } else {
            let mut change = article(&key, index as i32);
            change.title.clear();
            client
                .update_article(UpdateArticleRequest {
                    article: Some(change),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["heat".to_string()],
                    }),
                    etag: String::new(),
                })
                .await
                .expect("update")
                .into_inner()
                .article
        }
        .expect("an article")
        .revision;
        last = last.max(revision);
    }
    last
}

/// Watches from 0 until `done` says the writers are over and `through` is
/// reached, dropping the stream every `drop_every` events and resuming
/// after the last revision received. Returns every change revision seen.
async fn watch_with_drops(
    mut client: Client,
    drop_every: usize,
    through: tokio::sync::watch::Receiver<Option<i64>>,
) -> Vec<i64> {
    let mut seen: Vec<i64> = Vec::new();
    loop {
        let resume_after = seen.last().copied().unwrap_or(0);
        let mut events = watch(
            &mut client,
            request(ArticleQuery::default(), Some(resume_after)),
        )
        .await;
        let mut in_this_stream = 0;
        loop {
            let event = next(&mut events).await.expect("the watch goes on");
            if support::watch::is_change(&event) {
                seen.push(event.revision);
                in_this_stream += 1;
            }
            if let Some(last) = *through.borrow()
                && event.revision >= last
            {
                return seen;
            }
            if in_this_stream == drop_every {
                break;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_two_replicas_reach_resuming_watchers_once_in_order() {
    let replicas = Replicas::start().await;
    let (finished, through) = tokio::sync::watch::channel(None);
    let mut watchers = Vec::new();
    for (server, drop_every) in [
        (&replicas.first, 7),
        (&replicas.second, 11),
        (&replicas.second, 50),
    ] {
        watchers.push(tokio::spawn(watch_with_drops(
            server.client().await,
            drop_every,
            through.clone(),
        )));
    }
    let writers = [
        tokio::spawn(write(replicas.first.client().await, "first", 150)),
        tokio::spawn(write(replicas.second.client().await, "second", 150)),
    ];
    let mut last = 0;
    for writer in writers {
        last = last.max(writer.await.expect("a writer"));
    }
    assert_eq!(last, 300, "one revision per committed write");
    finished.send(Some(last)).expect("the watchers listen");
    for (index, watcher) in watchers.into_iter().enumerate() {
        let seen = watcher.await.expect("a watcher");
        assert_eq!(
            seen,
            (1..=last).collect::<Vec<_>>(),
            "watcher {index}: every revision once, in order"
        );
    }
}
