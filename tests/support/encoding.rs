//! Stored encodings across a field added to `newswire.v1.Article`: the
//! encoder of a build from before the field, articles written with it, and
//! the check that a server's three reads agree field for field.

use std::collections::HashMap;

use newswire::article::{Article, ArticleKey};
use newswire::proto::{self, GetArticleRequest, ListArticlesRequest, StreamArticlesRequest};
use newswire::store::{ArticleEncoder, Store, UpsertItem};
use prost::Message;
use tonic::transport::Channel;

use super::corpus;

/// `newswire.v1.Article` as a build from before its newest field (`etag`,
/// 26) encoded it: the current encoding without that field. Its fingerprint
/// differs from the production encoder's, as a build's would.
pub struct EncoderBeforeEtag;

/// `EncoderBeforeEtag`'s fingerprint.
pub const BEFORE_ETAG_FINGERPRINT: &str = "test: newswire.v1.Article before etag (26)";

impl ArticleEncoder for EncoderBeforeEtag {
    fn encode(&self, article: Article) -> Vec<u8> {
        let mut message = newswire::wire::article_into_proto(article);
        message.etag.clear();
        message.encode_to_vec()
    }

    fn fingerprint(&self) -> String {
        BEFORE_ETAG_FINGERPRINT.to_string()
    }
}

/// Writes `copies` copies of every corpus document into `store` (keys
/// `<key>-<copy>`), in import batches of 500; how many articles that is.
pub async fn write_corpus_copies(store: &dyn Store, copies: usize) -> usize {
    let documents: Vec<(String, newswire::article::ArticleContent)> = corpus::documents()
        .into_iter()
        .map(|document| {
            let content = newswire::document::parse(&document.source, &document.text)
                .unwrap_or_else(|error| panic!("{}: {error}", document.source));
            let key = ArticleKey::default_for(Some(&document.source), &content)
                .expect("a corpus file name is a valid key");
            (key.as_str().to_string(), content)
        })
        .collect();
    let items: Vec<UpsertItem> = (0..copies)
        .flat_map(|copy| {
            documents.iter().map(move |(key, content)| UpsertItem {
                key: ArticleKey::parse(&format!("{key}-{copy}"), "key").expect("a valid key"),
                content: content.clone(),
            })
        })
        .collect();
    let count = items.len();
    for batch in items.chunks(500) {
        for outcome in store
            .upsert_batch(batch.to_vec())
            .await
            .expect("the batch commits")
        {
            outcome.expect("the article is written");
        }
    }
    count
}

/// Asserts that StreamArticles, ListArticles and GetArticle give the same
/// `count` articles field for field, the field added (`etag`) included.
/// GetArticle is asked for every `get_every`-th article.
pub async fn assert_reads_agree(
    mut client: proto::article_service_client::ArticleServiceClient<Channel>,
    count: usize,
    get_every: usize,
) {
    let streamed = streamed(&mut client).await;
    let listed = listed(&mut client).await;
    assert_eq!(listed.len(), count, "ListArticles lists every article");
    assert_eq!(streamed.len(), count, "StreamArticles sends every article");
    let listed_by_id: HashMap<&str, &proto::Article> = listed
        .iter()
        .map(|article| (article.id.as_str(), article))
        .collect();
    for article in &streamed {
        assert!(
            !article.etag.is_empty(),
            "{} streamed without etag",
            article.id
        );
        assert_eq!(Some(&article), listed_by_id.get(article.id.as_str()));
    }
    for article in listed.iter().step_by(get_every) {
        let got = client
            .get_article(GetArticleRequest {
                lookup: Some(proto::get_article_request::Lookup::Id(article.id.clone())),
            })
            .await
            .expect("GetArticle")
            .into_inner()
            .article
            .expect("an article");
        assert_eq!(&got, article);
    }
}

/// Every article StreamArticles sends, in order.
async fn streamed(
    client: &mut proto::article_service_client::ArticleServiceClient<Channel>,
) -> Vec<proto::Article> {
    let mut stream = client
        .stream_articles(StreamArticlesRequest::default())
        .await
        .expect("the stream starts")
        .into_inner();
    let mut received = Vec::new();
    while let Some(message) = stream.message().await.expect("the stream goes on") {
        received.push(message.article.expect("an article"));
    }
    received
}

/// Every article ListArticles pages through, in order.
async fn listed(
    client: &mut proto::article_service_client::ArticleServiceClient<Channel>,
) -> Vec<proto::Article> {
    let mut articles = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_articles(ListArticlesRequest {
                page_size: 1000,
                page_token,
                ..ListArticlesRequest::default()
            })
            .await
            .expect("list")
            .into_inner();
        articles.extend(page.articles);
        if page.next_page_token.is_empty() {
            return articles;
        }
        page_token = page.next_page_token;
    }
}
