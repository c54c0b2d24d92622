//! StreamArticles end to end: the same articles as paging ListArticles,
//! field for field, after every kind of write and on both stores;
//! resumable after any message, validated as ListArticles is.

mod support;

use newswire::proto::{
    self, Article, ArticleQuery, DeleteArticleRequest, ListArticlesRequest, StreamArticlesRequest,
    UpdateArticleRequest,
};
use prost_types::FieldMask;
use support::server::TestServer;
use support::status::assert_invalid_field;

async fn listed(server: &TestServer, query: &ArticleQuery, order_by: &str) -> Vec<String> {
    listed_articles(server, query, order_by)
        .await
        .into_iter()
        .map(|article| article.id)
        .collect()
}

/// Every article ListArticles pages through, in order.
async fn listed_articles(
    server: &TestServer,
    query: &ArticleQuery,
    order_by: &str,
) -> Vec<Article> {
    let mut client = server.client().await;
    let mut ids = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_articles(ListArticlesRequest {
                query: Some(query.clone()),
                page_size: 37,
                page_token,
                order_by: order_by.to_string(),
            })
            .await
            .expect("list")
            .into_inner();
        ids.extend(page.articles);
        if page.next_page_token.is_empty() {
            return ids;
        }
        page_token = page.next_page_token;
    }
}

/// (id, resume token) of every message of a stream.
async fn streamed(server: &TestServer, request: StreamArticlesRequest) -> Vec<(String, String)> {
    streamed_articles(server, request)
        .await
        .into_iter()
        .map(|(article, token)| (article.id, token))
        .collect()
}

/// (article, resume token) of every message of a stream.
async fn streamed_articles(
    server: &TestServer,
    request: StreamArticlesRequest,
) -> Vec<(Article, String)> {
    let mut stream = server
        .client()
        .await
        .stream_articles(request)
        .await
        .expect("the stream starts")
        .into_inner();
    let mut received = Vec::new();
    while let Some(message) = stream.message().await.expect("the stream goes on") {
        let article = message.article.expect("an article");
        received.push((article, message.resume_token));
    }
    received
}

/// Streamed articles are the stored ones field for field, after creates,
/// imported updates, an UpdateArticle that moves an article in the order
/// and a delete: streams send what the store encoded at each write, so
/// every write must re-encode, once.
async fn streams_what_every_write_stored(server: TestServer) {
    assert_eq!(server.import_corpus().await.failed, 0);
    let history = support::history::entries();
    let replayed = server
        .client()
        .await
        .import_articles(tokio_stream::iter(support::history::import_requests(
            &history[..500],
        )))
        .await
        .expect("the history imports")
        .into_inner();
    assert!(replayed.updated > 0, "{replayed:?}");

    let before = listed_articles(&server, &ArticleQuery::default(), "").await;
    let mut client = server.client().await;
    let changed = &before[3];
    client
        .update_article(UpdateArticleRequest {
            article: Some(Article {
                id: changed.id.clone(),
                heat: Some(12_345),
                title: "Retitled: ünïcödé".to_string(),
                // Moves the article in the default order, where the
                // embedded store keys its encoding.
                published_date_time: Some(prost_types::Timestamp {
                    seconds: 978_307_200,
                    nanos: 5,
                }),
                ..Article::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec![
                    "heat".to_string(),
                    "title".to_string(),
                    "published_date_time".to_string(),
                ],
            }),
            etag: changed.etag.clone(),
        })
        .await
        .expect("update");
    let deleted = &before[5];
    client
        .delete_article(DeleteArticleRequest {
            lookup: Some(proto::delete_article_request::Lookup::Id(
                deleted.id.clone(),
            )),
            etag: String::new(),
        })
        .await
        .expect("delete");

    for order_by in ["", "heat desc"] {
        let expected = listed_articles(&server, &ArticleQuery::default(), order_by).await;
        assert_eq!(expected.len(), before.len() - 1);
        let streamed: Vec<Article> = streamed_articles(
            &server,
            StreamArticlesRequest {
                order_by: order_by.to_string(),
                read_batch_size: 50,
                ..StreamArticlesRequest::default()
            },
        )
        .await
        .into_iter()
        .map(|(article, _)| article)
        .collect();
        assert_eq!(streamed.len(), expected.len(), "{order_by}");
        for (streamed, expected) in streamed.iter().zip(&expected) {
            assert_eq!(streamed, expected, "{order_by}");
        }
        let retitled = streamed
            .iter()
            .find(|article| article.id == changed.id)
            .expect("the updated article streams");
        assert_eq!(retitled.heat, Some(12_345));
        assert_eq!(
            retitled
                .published_date_time
                .as_ref()
                .map(|time| time.seconds),
            Some(978_307_200)
        );
        assert_ne!(retitled.etag, changed.etag);
        assert!(streamed.iter().all(|article| article.id != deleted.id));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_what_every_write_stored_embedded() {
    streams_what_every_write_stored(TestServer::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_what_every_write_stored_postgres() {
    streams_what_every_write_stored(TestServer::start_postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_every_match_in_order_and_resumes_after_any_message() {
    let server = TestServer::start().await;
    assert_eq!(server.import_corpus().await.failed, 0);
    for (query, order_by) in [
        (ArticleQuery::default(), ""),
        (
            ArticleQuery {
                topics: vec!["Power Apps".to_string()],
                ..ArticleQuery::default()
            },
            "heat desc",
        ),
        (
            ArticleQuery {
                published: Some(true),
                ..ArticleQuery::default()
            },
            "quality asc",
        ),
    ] {
        let expected = listed(&server, &query, order_by).await;
        assert!(expected.len() > 50, "{query:?} matches enough to batch");
        let request = StreamArticlesRequest {
            query: Some(query.clone()),
            order_by: order_by.to_string(),
            start_after: String::new(),
            read_batch_size: 7,
        };
        let received = streamed(&server, request.clone()).await;
        let ids: Vec<String> = received.iter().map(|(id, _)| id.clone()).collect();
        assert_eq!(ids, expected, "{query:?} {order_by}");

        // Resume after the 20th message: the rest, exactly.
        let resumed = streamed(
            &server,
            StreamArticlesRequest {
                start_after: received[19].1.clone(),
                ..request
            },
        )
        .await;
        let resumed: Vec<String> = resumed.into_iter().map(|(id, _)| id).collect();
        assert_eq!(resumed, expected[20..].to_vec());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_stream_requests_fail_before_the_first_message() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let cases = [
        (
            StreamArticlesRequest {
                order_by: "title".to_string(),
                ..StreamArticlesRequest::default()
            },
            "order_by",
        ),
        (
            StreamArticlesRequest {
                start_after: "not a token".to_string(),
                ..StreamArticlesRequest::default()
            },
            "start_after",
        ),
        (
            StreamArticlesRequest {
                read_batch_size: 1001,
                ..StreamArticlesRequest::default()
            },
            "read_batch_size",
        ),
        (
            StreamArticlesRequest {
                query: Some(ArticleQuery {
                    min_quality: Some(9),
                    max_quality: Some(1),
                    ..ArticleQuery::default()
                }),
                ..StreamArticlesRequest::default()
            },
            "query.min_quality",
        ),
    ];
    for (request, field) in cases {
        let status = client
            .stream_articles(request)
            .await
            .expect_err("refused before streaming");
        assert_invalid_field(&status, field);
    }
}

/// A client that stops reading and leaves: the server stops the query (the
/// next stream on the same server works at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_mid_stream_frees_the_server() {
    let server = TestServer::start().await;
    assert_eq!(server.import_corpus().await.failed, 0);
    for _ in 0..20 {
        let mut stream = server
            .client()
            .await
            .stream_articles(StreamArticlesRequest {
                read_batch_size: 1,
                ..StreamArticlesRequest::default()
            })
            .await
            .expect("the stream starts")
            .into_inner();
        stream.message().await.expect("a message").expect("one");
        drop(stream);
    }
    let all = streamed(&server, StreamArticlesRequest::default()).await;
    assert_eq!(all.len(), support::corpus::DOCUMENT_COUNT);
}
