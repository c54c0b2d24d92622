//! PostgreSQL going away under a running newswire server, on a cluster
//! this test owns (`tests/support/cluster.rs`; the shared test server is
//! never stopped): an import in flight fails with a status that says so,
//! requests during the outage are UNAVAILABLE, and once the database is
//! back the same server serves again, with everything acknowledged before
//! intact, nothing half-written, and the import safe to send again.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::channel::mpsc;
use newswire::article::{ArticleContent, Revision};
use newswire::convert::from_proto::article_from_proto;
use newswire::proto::{
    self, Article, ArticleQuery, CreateArticleRequest, GetArticleRequest, ImportArticlesRequest,
    ImportArticlesResponse, ListArticlesRequest, get_article_request,
    import_articles_request::Item,
};
use newswire::store::postgres::{PostgresOptions, PostgresStore};
use newswire::store::{ChangeKind, Store};
use support::cluster::ThrowawayCluster;
use support::corpus::{self, CorpusDocument};
use support::server::TestServer;
use tokio::time::Instant;
use tonic::Code;

type Client = proto::article_service_client::ArticleServiceClient<tonic::transport::Channel>;

/// How long the database may take to come back and be served again.
const RECOVERY_DEADLINE: Duration = Duration::from_secs(60);

fn key_of(source: &str) -> String {
    source
        .rsplit_once('.')
        .map_or(source, |(stem, _)| stem)
        .to_string()
}

fn parsed(document: &CorpusDocument) -> ArticleContent {
    newswire::document::parse(&document.source, &document.text).expect("corpus parses")
}

fn content_of(article: &Article) -> ArticleContent {
    article_from_proto(article, "article")
        .expect("a served article converts")
        .1
}

fn import_request(document: &CorpusDocument) -> ImportArticlesRequest {
    ImportArticlesRequest {
        source: document.source.clone(),
        item: Some(Item::Document(document.text.clone())),
    }
}

async fn import(client: &mut Client, documents: &[CorpusDocument]) -> ImportArticlesResponse {
    let requests: Vec<ImportArticlesRequest> = documents.iter().map(import_request).collect();
    client
        .import_articles(tokio_stream::iter(requests))
        .await
        .expect("the import succeeds")
        .into_inner()
}

async fn get(
    client: &mut Client,
    lookup: get_article_request::Lookup,
) -> Result<Article, tonic::Status> {
    client
        .get_article(GetArticleRequest {
            lookup: Some(lookup),
        })
        .await
        .map(|response| response.into_inner().article.expect("an article"))
}

async fn list_all(client: &mut Client, query: Option<ArticleQuery>) -> Vec<Article> {
    let mut articles = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_articles(ListArticlesRequest {
                query: query.clone(),
                page_size: 500,
                page_token,
                order_by: String::new(),
            })
            .await
            .expect("list succeeds")
            .into_inner();
        articles.extend(page.articles);
        if page.next_page_token.is_empty() {
            return articles;
        }
        page_token = page.next_page_token;
    }
}

/// Polls `condition` every 20 ms until it holds; panics with `what` after
/// `deadline`.
async fn wait_until<F, Fut>(deadline: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let give_up = Instant::now() + deadline;
    while !condition().await {
        assert!(Instant::now() < give_up, "{what}: not within {deadline:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `pg_ctl stop -m fast`: PostgreSQL ends every session (57P01) and rolls
/// back what was in flight, then shuts down.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fast_database_restart_fails_requests_cleanly_and_the_server_recovers() {
    restart_under_load("fast").await;
}

/// `pg_ctl stop -m immediate`: PostgreSQL quits at once, as in a crash,
/// and recovers from its WAL when started again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_immediate_database_restart_fails_requests_cleanly_and_the_server_recovers() {
    restart_under_load("immediate").await;
}

/// The scenario, with the cluster stopped by `pg_ctl stop -m stop_mode`.
async fn restart_under_load(stop_mode: &str) {
    let cluster = ThrowawayCluster::start();
    let server = TestServer::start_with(
        Arc::new(connect(&cluster).await),
        tempfile::tempdir().expect("a temporary directory"),
    )
    .await;
    let mut client = server.client().await;
    let documents: Vec<CorpusDocument> = corpus::documents().into_iter().take(500).collect();
    let (acknowledged, in_flight) = documents.split_at(200);

    // 1. Part of the corpus, acknowledged.
    let first = import(&mut client, acknowledged).await;
    assert_eq!(
        (first.created, first.failed),
        (acknowledged.len() as i64, 0),
        "{first:?}"
    );

    // 2. Another import, in flight when the database stops.
    let status = stop_during_an_import(
        &cluster,
        stop_mode,
        server.client().await,
        in_flight,
        Revision(first.last_revision),
    )
    .await;
    eprintln!(
        "stopped -m {stop_mode}: the in-flight import failed with {:?}: {}",
        status.code(),
        status.message()
    );

    // 3. During the outage: reads and writes are UNAVAILABLE.
    let some_key = key_of(&acknowledged[0].source);
    assert_unavailable_during_the_outage(&mut client, &some_key).await;

    // 4. The database is back: the same server serves again, with
    // everything acknowledged before, as imported, and nothing half-written.
    cluster.restart();
    wait_until(RECOVERY_DEADLINE, "the server reads again", || {
        let mut client = client.clone();
        let key = some_key.clone();
        async move {
            get(&mut client, get_article_request::Lookup::Key(key))
                .await
                .is_ok()
        }
    })
    .await;
    for document in acknowledged {
        let key = key_of(&document.source);
        let article = get(&mut client, get_article_request::Lookup::Key(key.clone()))
            .await
            .unwrap_or_else(|status| panic!("{key}, acknowledged, is gone: {status:?}"));
        assert_eq!(content_of(&article), parsed(document), "{key}");
    }
    assert!(
        get(
            &mut client,
            get_article_request::Lookup::Key(OUTAGE_KEY.into())
        )
        .await
        .is_err_and(|status| status.code() == Code::NotFound),
        "the write refused during the outage is not stored"
    );
    let store = connect(&cluster).await;
    check_whole(&mut client, &store).await;
    let stored_before_resending = list_all(&mut client, None).await.len();
    assert!(
        stored_before_resending > acknowledged.len(),
        "the in-flight import's first commit survived: {stored_before_resending} stored"
    );

    // 5. Sending the whole import again is idempotent.
    import_again_idempotently(&mut client, &store, &documents, acknowledged.len()).await;
}

/// A store of its own on the cluster's database.
async fn connect(cluster: &ThrowawayCluster) -> PostgresStore {
    let options = PostgresOptions {
        pool_size: 4,
        wait_timeout: Duration::from_secs(10),
        ..PostgresOptions::default()
    };
    PostgresStore::connect_with(&cluster.url(), options, newswire::wire::article_encoder())
        .await
        .unwrap_or_else(|error| panic!("connecting to {}: {error}", cluster.url()))
}

/// Streams `documents` to ImportArticles: the first hundred are sent and
/// seen committed (the server is inside the stream), then the cluster
/// stops, then the rest is sent. The call's failure, checked to be
/// UNAVAILABLE, or UNKNOWN for a commit whose outcome is unknown.
async fn stop_during_an_import(
    cluster: &ThrowawayCluster,
    stop_mode: &str,
    mut client: Client,
    documents: &[CorpusDocument],
    before: Revision,
) -> tonic::Status {
    let observer = connect(cluster).await;
    let (sender, receiver) = mpsc::unbounded::<ImportArticlesRequest>();
    let import_in_flight = tokio::spawn(async move { client.import_articles(receiver).await });
    let (sent_first, sent_later) = documents.split_at(100);
    for document in sent_first {
        sender
            .unbounded_send(import_request(document))
            .expect("the stream is open");
    }
    let observer = &observer;
    wait_until(
        RECOVERY_DEADLINE,
        "the in-flight import commits its first items",
        move || async move {
            observer
                .current_revision()
                .await
                .is_ok_and(|revision| revision > before)
        },
    )
    .await;
    cluster.stop(stop_mode);
    // The call may already have failed (a commit was under way when the
    // database stopped), closing the stream: then the rest is not sent.
    for document in sent_later {
        if sender.unbounded_send(import_request(document)).is_err() {
            break;
        }
    }
    drop(sender);
    let status = tokio::time::timeout(RECOVERY_DEADLINE, import_in_flight)
        .await
        .expect("the in-flight import answers in time")
        .expect("the import task")
        .expect_err("an import whose database stopped fails");
    assert!(
        matches!(status.code(), Code::Unavailable | Code::Unknown),
        "the in-flight import fails UNAVAILABLE, or UNKNOWN for a commit whose outcome is \
         unknown; got {:?}: {}",
        status.code(),
        status.message()
    );
    if status.code() == Code::Unknown {
        assert!(
            status
                .message()
                .contains("may or may not have been committed"),
            "UNKNOWN says the outcome is unknown: {}",
            status.message()
        );
    }
    status
}

/// The key of the write tried during the outage.
const OUTAGE_KEY: &str = "during-the-outage";

/// A read, a write and a list while the database is down: UNAVAILABLE.
async fn assert_unavailable_during_the_outage(client: &mut Client, existing_key: &str) {
    let read = get(
        client,
        get_article_request::Lookup::Key(existing_key.to_string()),
    )
    .await
    .expect_err("a read without a database fails");
    assert_eq!(read.code(), Code::Unavailable, "{}", read.message());
    let write = client
        .create_article(CreateArticleRequest {
            article: Some(Article {
                key: OUTAGE_KEY.into(),
                title: "Written while the database is down".into(),
                published_date_time: Some(prost_types::Timestamp {
                    seconds: 1_700_000_000,
                    nanos: 0,
                }),
                original_url: Some("https://example.com/during-the-outage".into()),
                topics: vec!["Outage".into()],
                ..Default::default()
            }),
        })
        .await
        .expect_err("a write without a database fails");
    assert_eq!(write.code(), Code::Unavailable, "{}", write.message());
    let list = client
        .list_articles(ListArticlesRequest::default())
        .await
        .expect_err("a list without a database fails");
    assert_eq!(list.code(), Code::Unavailable, "{}", list.message());
}

/// Sends all of `documents` again: every item is created, updated or
/// unchanged (the `acknowledged` first ones unchanged), the store ends as
/// the documents with no duplicates, and a third import changes nothing.
async fn import_again_idempotently(
    client: &mut Client,
    store: &PostgresStore,
    documents: &[CorpusDocument],
    acknowledged: usize,
) {
    let again = import(client, documents).await;
    assert_eq!(again.failed, 0, "{again:?}");
    assert_eq!(
        again.created + again.updated + again.unchanged,
        documents.len() as i64,
        "{again:?}"
    );
    assert!(
        again.unchanged >= acknowledged as i64,
        "what was acknowledged is unchanged: {again:?}"
    );
    let stored: HashMap<String, Article> = list_all(client, None)
        .await
        .into_iter()
        .map(|article| (article.key.clone(), article))
        .collect();
    let expected: HashMap<String, ArticleContent> = documents
        .iter()
        .map(|document| (key_of(&document.source), parsed(document)))
        .collect();
    assert_eq!(
        stored.len(),
        expected.len(),
        "no duplicates, nothing missing"
    );
    for (key, content) in &expected {
        let article = stored
            .get(key)
            .unwrap_or_else(|| panic!("{key} is missing after the second import"));
        assert_eq!(&content_of(article), content, "{key}");
    }
    check_whole(client, store).await;
    let third = import(client, documents).await;
    assert_eq!(
        (third.unchanged, third.created, third.updated),
        (documents.len() as i64, 0, 0),
        "a third import changes nothing: {third:?}"
    );
}

/// Every stored article is whole and consistent with the indexes and the
/// change log: found by key and by each of its URLs, listed under each of
/// its topics and URLs, and the change log holds revisions 1..=N with each
/// article's revision logged once, for it.
async fn check_whole(client: &mut Client, store: &PostgresStore) {
    let articles = list_all(client, None).await;
    let mut by_topic: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for article in &articles {
        let by_key = get(
            client,
            get_article_request::Lookup::Key(article.key.clone()),
        )
        .await
        .unwrap_or_else(|status| panic!("{} by key: {status:?}", article.key));
        assert_eq!(&by_key, article, "got as listed");
        let content = content_of(article);
        for url in content.urls() {
            let by_url = get(client, get_article_request::Lookup::Url(url.to_string()))
                .await
                .unwrap_or_else(|status| panic!("{} by URL {url}: {status:?}", article.key));
            assert!(
                content_of(&by_url).urls().contains(&url),
                "GET by {url} answers an article with that URL"
            );
        }
        for topic in &article.topics {
            by_topic
                .entry(topic.clone())
                .or_default()
                .insert(article.id.clone());
        }
    }
    for (topic, ids) in &by_topic {
        let listed: BTreeSet<String> = list_all(
            client,
            Some(ArticleQuery {
                topics: vec![topic.clone()],
                ..Default::default()
            }),
        )
        .await
        .into_iter()
        .map(|article| article.id)
        .collect();
        assert!(
            ids.is_subset(&listed),
            "every article with topic {topic:?} is listed under it"
        );
    }

    let changes = store
        .changes_since(Revision(0), 100_000)
        .await
        .expect("changes_since");
    let revisions: Vec<i64> = changes.iter().map(|change| change.revision.0).collect();
    let gapless: Vec<i64> = (1..=revisions.len() as i64).collect();
    assert_eq!(revisions, gapless, "the change log is gapless from 1");
    let logged: HashMap<i64, (String, ChangeKind)> = changes
        .iter()
        .map(|change| (change.revision.0, (change.id.to_string(), change.kind)))
        .collect();
    for article in &articles {
        match logged.get(&article.revision) {
            Some((id, kind)) => {
                assert_eq!(
                    id, &article.id,
                    "revision {} is logged for {}",
                    article.revision, article.key
                );
                assert_ne!(*kind, ChangeKind::Deleted);
            }
            None => panic!(
                "{} has revision {}, which the change log lacks",
                article.key, article.revision
            ),
        }
    }
    assert_eq!(
        store.current_revision().await.expect("current_revision"),
        Revision(revisions.len() as i64),
        "the latest revision is the change log's last"
    );
}
