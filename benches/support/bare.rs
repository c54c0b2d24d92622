//! The baseline: a bare tonic server implementing the same ArticleService,
//! whose GetArticle returns one fixed, pre-built response and does nothing
//! else. The gap between it and newswire is what newswire itself costs per
//! call (lookup, SQLite, conversions), as opposed to HTTP/2 and protobuf.

use futures::stream::BoxStream;
use newswire::proto::article_service_server::ArticleService;
use newswire::proto::{
    BatchGetArticlesRequest, BatchGetArticlesResponse, CreateArticleRequest, CreateArticleResponse,
    DeleteArticleRequest, DeleteArticleResponse, GetArticleRequest, GetArticleResponse,
    ImportArticlesRequest, ImportArticlesResponse, ListArticlesRequest, ListArticlesResponse,
    StreamArticlesRequest, StreamArticlesResponse, UpdateArticleRequest, UpdateArticleResponse,
    WatchArticlesRequest, WatchArticlesResponse,
};
use tonic::{Request, Response, Status, Streaming};

/// Answers every GetArticle with a clone of `response`.
pub struct BareArticleService {
    /// A real article's response, chosen to be as large (encoded) as the
    /// average real one, so both servers move the same bytes.
    pub response: GetArticleResponse,
}

#[tonic::async_trait]
impl ArticleService for BareArticleService {
    async fn get_article(
        &self,
        _request: Request<GetArticleRequest>,
    ) -> Result<Response<GetArticleResponse>, Status> {
        Ok(Response::new(self.response.clone()))
    }

    async fn batch_get_articles(
        &self,
        _request: Request<BatchGetArticlesRequest>,
    ) -> Result<Response<BatchGetArticlesResponse>, Status> {
        Err(Status::unimplemented(
            "the bare baseline serves GetArticle only",
        ))
    }

    async fn list_articles(
        &self,
        _request: Request<ListArticlesRequest>,
    ) -> Result<Response<ListArticlesResponse>, Status> {
        Err(Status::unimplemented(
            "the bare baseline serves GetArticle only",
        ))
    }

    async fn create_article(
        &self,
        _request: Request<CreateArticleRequest>,
    ) -> Result<Response<CreateArticleResponse>, Status> {
        Err(Status::unimplemented(
            "the bare baseline serves GetArticle only",
        ))
    }

    async fn update_article(
        &self,
        _request: Request<UpdateArticleRequest>,
    ) -> Result<Response<UpdateArticleResponse>, Status> {
        Err(Status::unimplemented(
            "the bare baseline serves GetArticle only",
        ))
    }

    async fn delete_article(
        &self,
        _request: Request<DeleteArticleRequest>,
    ) -> Result<Response<DeleteArticleResponse>, Status> {
        Err(Status::unimplemented(
            "the bare baseline serves GetArticle only",
        ))
    }

    async fn import_articles(
        &self,
        _request: Request<Streaming<ImportArticlesRequest>>,
    ) -> Result<Response<ImportArticlesResponse>, Status> {
        Err(Status::unimplemented(
            "the bare baseline serves GetArticle only",
        ))
    }

    type StreamArticlesStream = BoxStream<'static, Result<StreamArticlesResponse, Status>>;

    async fn stream_articles(
        &self,
        _request: Request<StreamArticlesRequest>,
    ) -> Result<Response<Self::StreamArticlesStream>, Status> {
        Err(Status::unimplemented(
            "the bare baseline serves GetArticle only",
        ))
    }

    type WatchArticlesStream = BoxStream<'static, Result<WatchArticlesResponse, Status>>;

    async fn watch_articles(
        &self,
        _request: Request<WatchArticlesRequest>,
    ) -> Result<Response<Self::WatchArticlesStream>, Status> {
        Err(Status::unimplemented(
            "the bare baseline serves GetArticle only",
        ))
    }
}
