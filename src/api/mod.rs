//! The gRPC edge. Each RPC reads: validate and convert the request
//! (`convert::requests`), call the store, convert the answer
//! (`convert::to_proto`); a domain `Error` becomes its status through `?`
//! (`status`).

mod audit;
pub mod encoded_answers;
mod import;
pub mod preencoded;
pub mod served;
pub mod status;
pub mod stream;
pub mod stream_limits;
pub mod watch;

use std::sync::Arc;

use tonic::{Request, Response, Status, Streaming};

use crate::article::{Article, Lookup};
use crate::audit::AuditLog;
use crate::convert::lookup;
use crate::convert::requests::{self, Update};
use crate::convert::to_proto::{article_into_proto, deleted_to_proto, page_into_proto};
use crate::error::Error;
use crate::proto;
use crate::store::Store;
use crate::watch::Feed;
use audit::ArticleRef;
use encoded_answers::{ENCODED_ANSWERS, EncodedAnswers};
use preencoded::GetArticleResponse;
use served::article_service_server::ArticleService;
use stream_limits::StreamLimits;

pub use crate::convert::lookup::MAX_BATCH_GET;
pub use import::{MAX_IMPORT_BATCH, MAX_IMPORT_BATCH_BYTES};

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
    ) -> Result<Response<GetArticleResponse>, Status> {
        let lookup = lookup::from_get_request(request.get_ref())?;
        let article = self.store.get_shared(&lookup).await?;
        let article = article.ok_or_else(|| Error::NotFound(vec![lookup.to_string()]))?;
        Ok(Response::new(self.answers.answer(&article)))
    }

    async fn batch_get_articles(
        &self,
        request: Request<proto::BatchGetArticlesRequest>,
    ) -> Result<Response<proto::BatchGetArticlesResponse>, Status> {
        let lookups = lookup::from_batch_request(request.get_ref())?;
        let found = self.store.get_many(&lookups).await?;
        let articles = all_found(&lookups, found)?;
        Ok(Response::new(proto::BatchGetArticlesResponse {
            articles: articles.into_iter().map(article_into_proto).collect(),
        }))
    }

    async fn list_articles(
        &self,
        request: Request<proto::ListArticlesRequest>,
    ) -> Result<Response<proto::ListArticlesResponse>, Status> {
        let page_request = requests::list_from_proto(request.get_ref())?;
        let page = self.store.list(&page_request).await?;
        Ok(Response::new(page_into_proto(page, &page_request)))
    }

    async fn create_article(
        &self,
        request: Request<proto::CreateArticleRequest>,
    ) -> Result<Response<proto::CreateArticleResponse>, Status> {
        let target = ArticleRef::of_article(request.get_ref().article.as_ref());
        let context = audit::context(&request);
        let result = self.create(request.get_ref()).await;
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
        let result = self.update(request.get_ref()).await;
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
        let result = self.delete(request.get_ref()).await;
        self.audit_write(
            "DeleteArticle",
            context,
            target,
            result,
            ArticleRef::of_deleted,
        )
    }

    type StreamArticlesStream = stream::ArticleStream;

    async fn stream_articles(
        &self,
        request: Request<proto::StreamArticlesRequest>,
    ) -> Result<Response<Self::StreamArticlesStream>, Status> {
        let first = requests::stream_from_proto(request.get_ref())?;
        Ok(Response::new(stream::start(Arc::clone(&self.store), first)))
    }

    type WatchArticlesStream = watch::EventStream;

    async fn watch_articles(
        &self,
        request: Request<proto::WatchArticlesRequest>,
    ) -> Result<Response<Self::WatchArticlesStream>, Status> {
        let watch_request = requests::watch_from_proto(request.get_ref())?;
        let events = watch::start(&self.feed, watch_request);
        Ok(Response::new(self.stream_limits.watch(events)?))
    }

    async fn import_articles(
        &self,
        request: Request<Streaming<proto::ImportArticlesRequest>>,
    ) -> Result<Response<proto::ImportArticlesResponse>, Status> {
        let context = audit::context(&request);
        let stream = self.stream_limits.bound(request.into_inner());
        let result = import::run(self.store.as_ref(), stream).await;
        let result = result.map(Response::new);
        self.audit_write(
            "ImportArticles",
            context,
            ArticleRef::default(),
            result,
            ArticleRef::of_import,
        )
    }
}

/// The write handlers, audited by the trait methods above.
impl ArticleApi {
    async fn create(
        &self,
        request: &proto::CreateArticleRequest,
    ) -> Result<Response<proto::CreateArticleResponse>, Status> {
        let (key, content) = requests::create_from_proto(request)?;
        let stored = self.store.create(key, content).await?;
        Ok(Response::new(proto::CreateArticleResponse {
            article: Some(article_into_proto(stored)),
        }))
    }

    async fn update(
        &self,
        request: &proto::UpdateArticleRequest,
    ) -> Result<Response<proto::UpdateArticleResponse>, Status> {
        let Update {
            target,
            patch,
            expected,
        } = requests::update_from_proto(request)?;
        let stored = self
            .store
            .update(&target, &patch, expected.as_ref())
            .await?;
        Ok(Response::new(proto::UpdateArticleResponse {
            article: Some(article_into_proto(stored)),
        }))
    }

    async fn delete(
        &self,
        request: &proto::DeleteArticleRequest,
    ) -> Result<Response<proto::DeleteArticleResponse>, Status> {
        let (target, expected) = requests::delete_from_proto(request)?;
        let deleted = self.store.delete(&target, expected.as_ref()).await?;
        Ok(Response::new(deleted_to_proto(&deleted)))
    }
}

/// The articles of a batch, in request order, or NOT_FOUND naming every
/// lookup that found none.
fn all_found(lookups: &[Lookup], found: Vec<Option<Article>>) -> Result<Vec<Article>, Error> {
    let missing: Vec<String> = lookups
        .iter()
        .zip(&found)
        .filter(|(_, article)| article.is_none())
        .map(|(lookup, _)| lookup.to_string())
        .collect();
    if missing.is_empty() {
        Ok(found.into_iter().flatten().collect())
    } else {
        Err(Error::NotFound(missing))
    }
}
