//! The gRPC edge. Each RPC reads: validate → convert → call the store → map
//! the error. Only this module, `wire` and `proto` know the generated types.

mod audit;
pub mod convert;
pub mod get_response;
pub mod import;
mod lookup;
pub mod page_token;
pub mod status;
pub mod stream;
pub mod stream_limits;
mod update_mask;
pub mod watch;
pub mod watch_response;

use std::sync::Arc;

use tonic::{Request, Response, Status, Streaming};

use crate::article::{ArticleKey, ArticlePatch};
use crate::audit::AuditLog;
use crate::error::Error;
use crate::proto::{self, served::article_service_server::ArticleService};
use crate::query::{Order, PageRequest, PageSize};
use crate::store::Store;
use crate::watch::Feed;
use crate::wire::{article_into_proto, article_to_proto};
use audit::ArticleRef;
use convert::{article_from_proto, query_from_proto, require_complete};
use get_response::{ENCODED_ANSWERS, EncodedAnswers, GetArticleAnswer};
use status::to_status;
use stream_limits::StreamLimits;

pub use import::{MAX_IMPORT_BATCH, MAX_IMPORT_BATCH_BYTES};

/// Most ids, keys or URLs in one BatchGetArticles request.
pub const MAX_BATCH_GET: usize = 1000;

/// The ArticleService implementation over any store.
#[derive(Clone)]
pub struct ArticleApi {
    store: Arc<dyn Store>,
    feed: Feed,
    audit: AuditLog,
    stream_limits: StreamLimits,
    /// GetArticle answers of the articles the store's cache shares.
    answers: Arc<EncodedAnswers>,
}

impl ArticleApi {
    /// A service that keeps articles in the feed's store and serves the
    /// feed's watches, auditing writes to the log.
    pub fn new(feed: Feed) -> Self {
        Self {
            store: feed.store(),
            feed,
            audit: AuditLog::to_tracing(),
            stream_limits: StreamLimits::default(),
            answers: Arc::new(EncodedAnswers::new(ENCODED_ANSWERS)),
        }
    }

    /// The same service with these stream limits.
    pub fn with_stream_limits(self, stream_limits: StreamLimits) -> Self {
        Self {
            stream_limits,
            ..self
        }
    }

    /// The same service auditing its writes to `audit`.
    pub fn with_audit(self, audit: AuditLog) -> Self {
        Self { audit, ..self }
    }
}

#[tonic::async_trait]
impl ArticleService for ArticleApi {
    async fn get_article(
        &self,
        request: Request<proto::GetArticleRequest>,
    ) -> Result<Response<GetArticleAnswer>, Status> {
        let lookup = lookup::from_get_request(request.get_ref()).map_err(to_status)?;
        let article = self.store.get_shared(&lookup).await.map_err(to_status)?;
        let article =
            article.ok_or_else(|| to_status(Error::NotFound(vec![lookup.to_string()])))?;
        Ok(Response::new(self.answers.answer(&article)))
    }

    async fn batch_get_articles(
        &self,
        request: Request<proto::BatchGetArticlesRequest>,
    ) -> Result<Response<proto::BatchGetArticlesResponse>, Status> {
        let lookups = lookup::from_batch_request(request.get_ref()).map_err(to_status)?;
        let found = self.store.get_many(&lookups).await.map_err(to_status)?;
        let missing: Vec<String> = lookups
            .iter()
            .zip(&found)
            .filter(|(_, article)| article.is_none())
            .map(|(lookup, _)| lookup.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(to_status(Error::NotFound(missing)));
        }
        let articles = found.iter().flatten().map(article_to_proto).collect();
        Ok(Response::new(proto::BatchGetArticlesResponse { articles }))
    }

    async fn list_articles(
        &self,
        request: Request<proto::ListArticlesRequest>,
    ) -> Result<Response<proto::ListArticlesResponse>, Status> {
        let request = request.get_ref();
        let page = page_request(request).map_err(to_status)?;
        let (query, order) = (page.query.clone(), page.order);
        let page = self.store.list(&page).await.map_err(to_status)?;
        Ok(Response::new(proto::ListArticlesResponse {
            articles: page.articles.into_iter().map(article_into_proto).collect(),
            next_page_token: page
                .next
                .map(|cursor| page_token::encode(&query, order, cursor))
                .unwrap_or_default(),
        }))
    }

    async fn create_article(
        &self,
        request: Request<proto::CreateArticleRequest>,
    ) -> Result<Response<proto::CreateArticleResponse>, Status> {
        let target = ArticleRef::of_article(request.get_ref().article.as_ref());
        let context = audit::context(&request);
        let result = self.create(request).await;
        self.audit_write("CreateArticle", context, target, result, |response| {
            ArticleRef::of_article(response.article.as_ref())
        })
    }

    async fn update_article(
        &self,
        request: Request<proto::UpdateArticleRequest>,
    ) -> Result<Response<proto::UpdateArticleResponse>, Status> {
        let target = ArticleRef::of_article(request.get_ref().article.as_ref());
        let context = audit::context(&request);
        let result = self.update(request).await;
        self.audit_write("UpdateArticle", context, target, result, |response| {
            ArticleRef::of_article(response.article.as_ref())
        })
    }

    async fn delete_article(
        &self,
        request: Request<proto::DeleteArticleRequest>,
    ) -> Result<Response<proto::DeleteArticleResponse>, Status> {
        let target = ArticleRef::of_delete(request.get_ref());
        let context = audit::context(&request);
        let result = self.delete(request).await;
        self.audit_write("DeleteArticle", context, target, result, |response| {
            ArticleRef {
                id: Some(response.id.clone()),
                key: Some(response.key.clone()),
                detail: Some(format!("revision {}", response.revision)),
            }
        })
    }

    type StreamArticlesStream = stream::ArticleStream;

    async fn stream_articles(
        &self,
        request: Request<proto::StreamArticlesRequest>,
    ) -> Result<Response<Self::StreamArticlesStream>, Status> {
        let stream = stream::start(Arc::clone(&self.store), request.get_ref())?;
        Ok(Response::new(stream))
    }

    type WatchArticlesStream = watch::EventStream;

    async fn watch_articles(
        &self,
        request: Request<proto::WatchArticlesRequest>,
    ) -> Result<Response<Self::WatchArticlesStream>, Status> {
        let events = watch::start(&self.feed, request.get_ref())?;
        Ok(Response::new(self.stream_limits.watch(events)?))
    }

    async fn import_articles(
        &self,
        request: Request<Streaming<proto::ImportArticlesRequest>>,
    ) -> Result<Response<proto::ImportArticlesResponse>, Status> {
        let context = audit::context(&request);
        let stream = self.stream_limits.bound(request.into_inner());
        let result = import::run(self.store.as_ref(), stream)
            .await
            .map(Response::new);
        self.audit_write(
            "ImportArticles",
            context,
            ArticleRef::default(),
            result,
            |summary| ArticleRef {
                detail: Some(format!(
                    "created {}, updated {}, unchanged {}, failed {}, last revision {}",
                    summary.created,
                    summary.updated,
                    summary.unchanged,
                    summary.failed,
                    summary.last_revision
                )),
                ..ArticleRef::default()
            },
        )
    }
}

/// The write handlers, audited by the trait methods above.
impl ArticleApi {
    async fn create(
        &self,
        request: Request<proto::CreateArticleRequest>,
    ) -> Result<Response<proto::CreateArticleResponse>, Status> {
        let article = request
            .get_ref()
            .article
            .as_ref()
            .ok_or_else(|| missing("article"))?;
        let (key, content) = article_from_proto(article, "article").map_err(to_status)?;
        require_complete(article, &content, "article").map_err(to_status)?;
        let key = match key {
            Some(key) => key,
            None => ArticleKey::default_for(None, &content).map_err(to_status)?,
        };
        let stored = self.store.create(key, content).await.map_err(to_status)?;
        Ok(Response::new(proto::CreateArticleResponse {
            article: Some(article_to_proto(&stored)),
        }))
    }

    async fn update(
        &self,
        request: Request<proto::UpdateArticleRequest>,
    ) -> Result<Response<proto::UpdateArticleResponse>, Status> {
        let request = request.get_ref();
        let article = request.article.as_ref().ok_or_else(|| missing("article"))?;
        let target = lookup::update_target(article).map_err(to_status)?;
        let fields =
            update_mask::fields(article, request.update_mask.as_ref()).map_err(to_status)?;
        let (key, source) = article_from_proto(article, "article").map_err(to_status)?;
        let patch = ArticlePatch {
            fields,
            key,
            source,
        };
        let expected = etag_precondition(&request.etag);
        let stored = self
            .store
            .update(&target, &patch, expected.as_ref())
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::UpdateArticleResponse {
            article: Some(article_to_proto(&stored)),
        }))
    }

    async fn delete(
        &self,
        request: Request<proto::DeleteArticleRequest>,
    ) -> Result<Response<proto::DeleteArticleResponse>, Status> {
        let request = request.get_ref();
        let target = lookup::from_delete_request(request).map_err(to_status)?;
        let expected = etag_precondition(&request.etag);
        let deleted = self
            .store
            .delete(&target, expected.as_ref())
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::DeleteArticleResponse {
            id: deleted.id.to_string(),
            key: deleted.key.as_str().to_string(),
            revision: deleted.revision.0,
        }))
    }
}

/// The page a ListArticles request asks for.
fn page_request(request: &proto::ListArticlesRequest) -> Result<PageRequest, Error> {
    let query = query_from_proto(request.query.as_ref(), "query")?;
    let order = Order::parse(&request.order_by)?;
    let size = PageSize::parse(request.page_size)?;
    let after = match request.page_token.as_str() {
        "" => None,
        token => Some(page_token::decode(token, &query, order, "page_token")?),
    };
    Ok(PageRequest {
        query,
        order,
        size,
        after,
    })
}

fn etag_precondition(etag: &str) -> Option<crate::article::Etag> {
    (!etag.is_empty()).then(|| crate::article::Etag(etag.to_string()))
}

fn missing(field: &str) -> Status {
    to_status(Error::invalid(field, "is required"))
}
