//! Two real newswire servers, each with a `PostgresStore` of its own over
//! the same fresh database, as replicas behind a load balancer run: a write
//! one acknowledges is at once visible through the other, and writes on
//! both get revisions 1, 2, 3 … in commit order, with no gap, duplicate or
//! late arrival.
//!
//! Each replica has its read cache on (the default): it must stay exact
//! though the other replica's writes never pass through it.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use newswire::article::{ArticleContent, Revision};
use newswire::convert::from_proto::article_from_proto;
use newswire::proto::{
    self, Article, CreateArticleRequest, DeleteArticleRequest, GetArticleRequest,
    ImportArticlesRequest, ListArticlesRequest, UpdateArticleRequest, get_article_request,
    import_articles_request::Item,
};
use newswire::store::postgres::{PostgresOptions, PostgresStore};
use newswire::store::{ChangeKind, Store};
use prost_types::FieldMask;
use support::corpus;
use support::postgres::TestDatabase;
use support::server::TestServer;
use tonic::Code;

type Client = proto::article_service_client::ArticleServiceClient<tonic::transport::Channel>;

/// Two servers over one fresh database, and a store of the test's own on
/// it for reading the change log.
struct Replicas {
    first: TestServer,
    second: TestServer,
    store: Arc<PostgresStore>,
    // Dropped last: the servers' connections are forced off when it drops.
    _database: TestDatabase,
}

impl Replicas {
    async fn start() -> Self {
        let database = TestDatabase::create().await;
        let first = TestServer::start_with(open(&database).await, temporary_directory()).await;
        let second = TestServer::start_with(open(&database).await, temporary_directory()).await;
        Self {
            first,
            second,
            store: open(&database).await,
            _database: database,
        }
    }
}

async fn open(database: &TestDatabase) -> Arc<PostgresStore> {
    let options = PostgresOptions {
        pool_size: 8,
        ..PostgresOptions::default()
    };
    let store =
        PostgresStore::connect_with(database.url(), options, newswire::wire::article_encoder())
            .await
            .unwrap_or_else(|error| panic!("connecting to {}: {error}", database.name()));
    Arc::new(store)
}

fn temporary_directory() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

fn new_article(key: &str) -> Article {
    Article {
        key: key.to_string(),
        title: format!("Title of {key}"),
        excerpt: Some("An excerpt".into()),
        published_date_time: Some(prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        original_url: Some(format!("https://example.com/{key}")),
        topics: vec!["Replication".into()],
        heat: Some(1),
        ..Default::default()
    }
}

async fn get(client: &mut Client, lookup: get_article_request::Lookup) -> Result<Article, Code> {
    client
        .get_article(GetArticleRequest {
            lookup: Some(lookup),
        })
        .await
        .map(|response| response.into_inner().article.expect("an article"))
        .map_err(|status| status.code())
}

async fn list_all(client: &mut Client) -> Vec<Article> {
    let mut articles = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_articles(ListArticlesRequest {
                query: None,
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

fn key_of(source: &str) -> String {
    source
        .rsplit_once('.')
        .map_or(source, |(stem, _)| stem)
        .to_string()
}

fn content_of(article: &Article) -> ArticleContent {
    article_from_proto(article, "article")
        .expect("a served article converts")
        .1
}

/// Create, update with a mask, delete and import through one replica; each
/// is read back through the other at once, without retrying.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_acknowledged_by_one_replica_is_visible_through_the_other() {
    let replicas = Replicas::start().await;
    let mut writer = replicas.first.client().await;
    let mut reader = replicas.second.client().await;

    let created = writer
        .create_article(CreateArticleRequest {
            article: Some(new_article("replicated")),
        })
        .await
        .expect("create")
        .into_inner()
        .article
        .expect("an article");
    let seen = get(
        &mut reader,
        get_article_request::Lookup::Id(created.id.clone()),
    )
    .await;
    assert_eq!(seen, Ok(created.clone()), "the create, read on the other");

    let updated = writer
        .update_article(UpdateArticleRequest {
            article: Some(Article {
                id: created.id.clone(),
                heat: Some(77),
                title: "outside the mask: ignored".into(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["heat".into()],
            }),
            etag: created.etag.clone(),
        })
        .await
        .expect("update")
        .into_inner()
        .article
        .expect("an article");
    assert_eq!(updated.heat, Some(77));
    assert_eq!(updated.title, created.title);
    let seen = get(
        &mut reader,
        get_article_request::Lookup::Key("replicated".into()),
    )
    .await;
    assert_eq!(seen, Ok(updated.clone()), "the update, read on the other");
    let listed = list_all(&mut reader).await;
    assert_eq!(
        listed,
        vec![updated.clone()],
        "the update, listed on the other"
    );

    let deleted = writer
        .delete_article(DeleteArticleRequest {
            lookup: Some(proto::delete_article_request::Lookup::Id(
                created.id.clone(),
            )),
            etag: updated.etag.clone(),
        })
        .await
        .expect("delete")
        .into_inner();
    assert!(deleted.revision > updated.revision);
    let seen = get(
        &mut reader,
        get_article_request::Lookup::Id(created.id.clone()),
    )
    .await;
    assert_eq!(seen, Err(Code::NotFound), "the delete, read on the other");
    assert!(list_all(&mut reader).await.is_empty());

    let documents: Vec<_> = corpus::documents().into_iter().take(120).collect();
    let requests: Vec<ImportArticlesRequest> = documents
        .iter()
        .map(|document| ImportArticlesRequest {
            source: document.source.clone(),
            item: Some(Item::Document(document.text.clone())),
        })
        .collect();
    let imported = writer
        .import_articles(tokio_stream::iter(requests))
        .await
        .expect("import")
        .into_inner();
    assert_eq!(
        (imported.created, imported.failed),
        (documents.len() as i64, 0),
        "{imported:?}"
    );
    let listed: HashMap<String, Article> = list_all(&mut reader)
        .await
        .into_iter()
        .map(|article| (article.key.clone(), article))
        .collect();
    assert_eq!(listed.len(), documents.len());
    for document in &documents {
        let key = key_of(&document.source);
        let expected =
            newswire::document::parse(&document.source, &document.text).expect("corpus parses");
        let article = get(&mut reader, get_article_request::Lookup::Key(key.clone()))
            .await
            .unwrap_or_else(|code| panic!("{key} imported on one, read on the other: {code:?}"));
        assert_eq!(content_of(&article), expected, "{key}");
        assert_eq!(listed.get(&key), Some(&article), "{key} listed as got");
    }
    assert_eq!(
        replicas.store.current_revision().await.expect("revision"),
        Revision(imported.last_revision),
        "the import's last revision is the latest"
    );
}

/// What one writer task had acknowledged: (revision, article id, kind).
type Acknowledged = Vec<(i64, String, ChangeKind)>;

/// Writers on both replicas at once; the change log afterwards holds
/// exactly the acknowledged writes as revisions 1..=N, and a reader tailing
/// it meanwhile saw every revision in order, none arriving late.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_writes_on_both_replicas_get_gapless_revisions_in_commit_order() {
    const WRITERS_PER_REPLICA: usize = 4;
    const CREATES_PER_WRITER: usize = 30;
    let replicas = Replicas::start().await;

    let writers_done = Arc::new(AtomicBool::new(false));
    let tail = {
        let store = Arc::clone(&replicas.store);
        let writers_done = Arc::clone(&writers_done);
        tokio::spawn(async move {
            let mut seen: Vec<Revision> = Vec::new();
            let mut last = Revision(0);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
            loop {
                // Read before checking: once the writers are done and a read
                // that began after that finds nothing new, the tail is whole.
                let done = writers_done.load(Ordering::SeqCst);
                let changes = store.changes_since(last, 64).await.expect("changes_since");
                if changes.is_empty() && done {
                    return seen;
                }
                for change in changes {
                    assert!(
                        change.revision > last,
                        "the tail went backwards: {:?} after {last:?}",
                        change.revision
                    );
                    last = change.revision;
                    seen.push(change.revision);
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the tail did not finish in time"
                );
                tokio::task::yield_now().await;
            }
        })
    };

    let mut writers = Vec::new();
    for (replica_name, server) in [("a", &replicas.first), ("b", &replicas.second)] {
        for writer in 0..WRITERS_PER_REPLICA {
            let mut client = server.client().await;
            writers.push(tokio::spawn(async move {
                let mut acknowledged: Acknowledged = Vec::new();
                for write in 0..CREATES_PER_WRITER {
                    let key = format!("{replica_name}-{writer}-{write}");
                    let created = client
                        .create_article(CreateArticleRequest {
                            article: Some(new_article(&key)),
                        })
                        .await
                        .unwrap_or_else(|status| panic!("create {key}: {status:?}"))
                        .into_inner()
                        .article
                        .expect("an article");
                    acknowledged.push((created.revision, created.id.clone(), ChangeKind::Created));
                    if write % 2 == 0 {
                        let updated = client
                            .update_article(UpdateArticleRequest {
                                article: Some(Article {
                                    id: created.id.clone(),
                                    heat: Some(write as i32 + 100),
                                    ..Default::default()
                                }),
                                update_mask: Some(FieldMask {
                                    paths: vec!["heat".into()],
                                }),
                                etag: String::new(),
                            })
                            .await
                            .unwrap_or_else(|status| panic!("update {key}: {status:?}"))
                            .into_inner()
                            .article
                            .expect("an article");
                        acknowledged.push((updated.revision, updated.id, ChangeKind::Updated));
                    }
                }
                acknowledged
            }));
        }
    }
    let mut acknowledged: Acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.expect("a writer"));
    }
    writers_done.store(true, Ordering::SeqCst);
    let seen = tail.await.expect("the tail");

    let expected_writes = 2 * WRITERS_PER_REPLICA * (CREATES_PER_WRITER + CREATES_PER_WRITER / 2);
    assert_eq!(acknowledged.len(), expected_writes);
    let changes = replicas
        .store
        .changes_since(Revision(0), 100_000)
        .await
        .expect("changes_since");
    let revisions: Vec<Revision> = changes.iter().map(|change| change.revision).collect();
    let gapless: Vec<Revision> = (1..=expected_writes as i64).map(Revision).collect();
    assert_eq!(
        revisions, gapless,
        "one revision per acknowledged write, 1..=N"
    );
    assert_eq!(
        seen, revisions,
        "the tailing reader missed an entry: one became visible after a higher one"
    );

    let logged: BTreeMap<i64, (String, ChangeKind)> = changes
        .iter()
        .map(|change| (change.revision.0, (change.id.to_string(), change.kind)))
        .collect();
    let mut acknowledged_revisions: BTreeMap<i64, (String, ChangeKind)> = BTreeMap::new();
    for (revision, id, kind) in acknowledged {
        let previous = acknowledged_revisions.insert(revision, (id, kind));
        assert!(
            previous.is_none(),
            "revision {revision} was acknowledged twice"
        );
    }
    assert_eq!(
        acknowledged_revisions, logged,
        "each acknowledged write is logged once, under its revision, for its article"
    );
}

/// Updates on one replica interleaved with lookups by id on the other,
/// whose read cache holds the articles: the reader never sees an article
/// older than the last write acknowledged before its call began, while
/// readers on the side keep filling the cache with what they read; a
/// delete is NOT_FOUND through the other replica at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lookups_through_the_other_replica_never_go_back_in_time() {
    const ARTICLES: usize = 4;
    const ROUNDS: usize = 50;
    const SIDE_READERS: usize = 6;
    let replicas = Replicas::start().await;
    let mut writer = replicas.first.client().await;
    let mut reader = replicas.second.client().await;

    let mut ids = Vec::new();
    let acknowledged: Arc<Vec<AtomicI64>> =
        Arc::new((0..ARTICLES).map(|_| AtomicI64::new(0)).collect());
    for index in 0..ARTICLES {
        let created = writer
            .create_article(CreateArticleRequest {
                article: Some(new_article(&format!("cached-{index}"))),
            })
            .await
            .expect("create")
            .into_inner()
            .article
            .expect("an article");
        acknowledged[index].store(created.revision, Ordering::SeqCst);
        ids.push(created.id);
    }
    let ids = Arc::new(ids);

    let stop = Arc::new(AtomicBool::new(false));
    let side_reads = Arc::new(AtomicU64::new(0));
    let mut side_readers = Vec::new();
    for _ in 0..SIDE_READERS {
        let mut client = replicas.second.client().await;
        let (ids, acknowledged) = (Arc::clone(&ids), Arc::clone(&acknowledged));
        let (stop, side_reads) = (Arc::clone(&stop), Arc::clone(&side_reads));
        side_readers.push(tokio::spawn(async move {
            // At least one pass, however soon the writes end.
            loop {
                for (index, id) in ids.iter().enumerate() {
                    let floor = acknowledged[index].load(Ordering::SeqCst);
                    let article = get(&mut client, get_article_request::Lookup::Id(id.clone()))
                        .await
                        .unwrap_or_else(|code| panic!("side read of {id}: {code:?}"));
                    assert!(
                        article.revision >= floor,
                        "a side read of {id} gave revision {} after {floor} was acknowledged",
                        article.revision
                    );
                    side_reads.fetch_add(1, Ordering::SeqCst);
                }
                if stop.load(Ordering::SeqCst) {
                    return;
                }
            }
        }));
    }

    for round in 0..ROUNDS {
        for (index, id) in ids.iter().enumerate() {
            let updated = writer
                .update_article(UpdateArticleRequest {
                    article: Some(Article {
                        id: id.clone(),
                        heat: Some((round * ARTICLES + index) as i32),
                        ..Default::default()
                    }),
                    update_mask: Some(FieldMask {
                        paths: vec!["heat".into()],
                    }),
                    etag: String::new(),
                })
                .await
                .expect("update")
                .into_inner()
                .article
                .expect("an article");
            acknowledged[index].store(updated.revision, Ordering::SeqCst);
            let seen = get(&mut reader, get_article_request::Lookup::Id(id.clone())).await;
            assert_eq!(
                seen,
                Ok(updated),
                "round {round}: the update of {id}, read at once on the other replica"
            );
        }
    }
    stop.store(true, Ordering::SeqCst);
    for side_reader in side_readers {
        side_reader.await.expect("a side reader");
    }
    assert!(
        side_reads.load(Ordering::SeqCst) >= (SIDE_READERS * ARTICLES) as u64,
        "the side readers read while the writes went on"
    );

    for (index, id) in ids.iter().enumerate() {
        let cached = get(&mut reader, get_article_request::Lookup::Id(id.clone())).await;
        assert!(
            cached.is_ok(),
            "{id} is there before its delete: {cached:?}"
        );
        writer
            .delete_article(DeleteArticleRequest {
                lookup: Some(proto::delete_article_request::Lookup::Id(id.clone())),
                etag: String::new(),
            })
            .await
            .expect("delete");
        let seen = get(&mut reader, get_article_request::Lookup::Id(id.clone())).await;
        assert_eq!(
            seen,
            Err(Code::NotFound),
            "the delete of {id}, read at once"
        );
        for later in &ids[index + 1..] {
            let seen = get(&mut reader, get_article_request::Lookup::Id(later.clone())).await;
            assert!(seen.is_ok(), "{later} is not deleted yet: {seen:?}");
        }
    }
}
