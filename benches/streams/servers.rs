//! The pinned children: newswire, and the bare baseline that broadcasts
//! pre-built events. Each prints `ADDRESS PID` on stdout, then serves
//! until its stdin closes.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, bail};
use futures::stream::{self, BoxStream, StreamExt};
use newswire::article::{Article, ArticleId, ArticleKey, Etag, Revision};
use newswire::proto::article_event::Type;
use newswire::proto::article_service_server::{ArticleService, ArticleServiceServer};
use newswire::proto::{
    ArticleEvent, BatchGetArticlesRequest, BatchGetArticlesResponse, CreateArticleRequest,
    CreateArticleResponse, DeleteArticleRequest, DeleteArticleResponse, GetArticleRequest,
    GetArticleResponse, ImportArticlesRequest, ImportArticlesResponse, ListArticlesRequest,
    ListArticlesResponse, StreamArticlesRequest, StreamArticlesResponse, UpdateArticleRequest,
    UpdateArticleResponse, WatchArticlesRequest, WatchArticlesResponse,
};
use newswire::wire::{article_to_proto, timestamp};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status, Streaming};

use super::child::{runtime, stdin_closed};
use super::corpus;

/// A server child stops by itself after this long, should its parent
/// vanish without closing the pipe.
const SERVER_LIFETIME_LIMIT: Duration = Duration::from_secs(30 * 60);

/// `serve-newswire ADDRESS DATA_DIRECTORY`: newswire over a fresh SQLite
/// database, through the library's `server::serve`.
pub fn newswire(arguments: &[String]) -> anyhow::Result<()> {
    let [address, data] = arguments else {
        bail!("usage: serve-newswire ADDRESS DATA_DIRECTORY");
    };
    runtime()?.block_on(async {
        let store = newswire::store::open_embedded(&Path::new(data).join("newswire.sqlite3"))
            .context("opening the SQLite store")?;
        let listener = TcpListener::bind(address.as_str()).await?;
        announce(&listener)?;
        newswire::server::serve(
            listener,
            store,
            crate::settings::benchmark_config(),
            stdin_closed(SERVER_LIFETIME_LIMIT),
        )
        .await
    })
}

/// `serve-bare ADDRESS [STREAM_COUNT]`: the baseline. Every ImportArticles
/// item makes it broadcast the next pre-built event (the corpus article it
/// would be, as newswire sends it) to every watcher; nothing else happens
/// per item. StreamArticles streams STREAM_COUNT pre-built messages (the
/// corpus articles again and again).
pub fn bare(arguments: &[String]) -> anyhow::Result<()> {
    let (address, stream_count) = match arguments {
        [address] => (address, 0),
        [address, count] => (address, count.parse().context("STREAM_COUNT")?),
        _ => bail!("usage: serve-bare ADDRESS [STREAM_COUNT]"),
    };
    let events = prebuilt_events()?;
    let stream_messages: Vec<StreamArticlesResponse> = events
        .iter()
        .map(|response| StreamArticlesResponse {
            article: response.event.as_ref().and_then(|event| event.article.clone()),
            // As long as newswire's tokens.
            resume_token: "djF8MDEyMzQ1Njc4OWFiY2RlZnwxNzAwMDAwMDAwMDAwMDAwfDAxOTAwMDAwLTAwMDAtNzAwMC04MDAwLTAwMDAwMDAwMDAwMA".to_string(),
        })
        .collect();
    runtime()?.block_on(async {
        let listener = TcpListener::bind(address.as_str()).await?;
        announce(&listener)?;
        let (sender, _) = broadcast::channel(4096);
        let service = BareFeed {
            events,
            sender,
            next: Mutex::new(0),
            stream_messages: std::sync::Arc::new(stream_messages),
            stream_count,
        };
        tonic::transport::Server::builder()
            .add_service(ArticleServiceServer::new(service))
            .serve_with_incoming_shutdown(
                TcpIncoming::from(listener).with_nodelay(Some(true)),
                stdin_closed(SERVER_LIFETIME_LIMIT),
            )
            .await
            .context("serving")
    })
}

/// The corpus as the CREATED events newswire would send, built once.
pub fn prebuilt_events() -> anyhow::Result<Vec<WatchArticlesResponse>> {
    let now = chrono::Utc::now();
    let mut events = Vec::new();
    for (index, document) in corpus::documents()?.iter().enumerate() {
        let content = newswire::document::parse(&document.source, &document.text)?;
        let stem = document
            .source
            .rsplit_once('.')
            .map_or(document.source.as_str(), |(stem, _)| stem);
        let article = Article {
            id: ArticleId::generate(),
            key: ArticleKey::parse(stem, "key")?,
            etag: Etag(format!("{index:016x}")),
            content,
            create_time: now,
            update_time: now,
            revision: Revision(index as i64 + 1),
        };
        events.push(WatchArticlesResponse {
            event: Some(ArticleEvent {
                r#type: Type::Created as i32,
                revision: index as i64 + 1,
                commit_time: Some(timestamp(now)),
                article: Some(article_to_proto(&article)),
                filter_transition: 0,
            }),
        });
    }
    Ok(events)
}

struct BareFeed {
    events: Vec<WatchArticlesResponse>,
    sender: broadcast::Sender<WatchArticlesResponse>,
    next: Mutex<usize>,
    stream_messages: std::sync::Arc<Vec<StreamArticlesResponse>>,
    stream_count: usize,
}

fn unimplemented() -> Status {
    Status::unimplemented("the bare baseline serves WatchArticles and ImportArticles only")
}

#[tonic::async_trait]
impl ArticleService for BareFeed {
    async fn get_article(
        &self,
        _request: Request<GetArticleRequest>,
    ) -> Result<Response<GetArticleResponse>, Status> {
        Err(unimplemented())
    }

    async fn batch_get_articles(
        &self,
        _request: Request<BatchGetArticlesRequest>,
    ) -> Result<Response<BatchGetArticlesResponse>, Status> {
        Err(unimplemented())
    }

    async fn list_articles(
        &self,
        _request: Request<ListArticlesRequest>,
    ) -> Result<Response<ListArticlesResponse>, Status> {
        Err(unimplemented())
    }

    async fn create_article(
        &self,
        _request: Request<CreateArticleRequest>,
    ) -> Result<Response<CreateArticleResponse>, Status> {
        Err(unimplemented())
    }

    async fn update_article(
        &self,
        _request: Request<UpdateArticleRequest>,
    ) -> Result<Response<UpdateArticleResponse>, Status> {
        Err(unimplemented())
    }

    async fn delete_article(
        &self,
        _request: Request<DeleteArticleRequest>,
    ) -> Result<Response<DeleteArticleResponse>, Status> {
        Err(unimplemented())
    }

    async fn import_articles(
        &self,
        request: Request<Streaming<ImportArticlesRequest>>,
    ) -> Result<Response<ImportArticlesResponse>, Status> {
        let mut items = request.into_inner();
        let mut created = 0;
        while items.message().await?.is_some() {
            let mut response = {
                let mut next = self
                    .next
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner());
                let response = self.events[*next % self.events.len()].clone();
                *next += 1;
                response
            };
            // Committed now, as far as the latency measurement goes.
            if let Some(event) = response.event.as_mut() {
                event.commit_time = Some(timestamp(chrono::Utc::now()));
            }
            let _ = self.sender.send(response);
            created += 1;
        }
        Ok(Response::new(ImportArticlesResponse {
            created,
            ..ImportArticlesResponse::default()
        }))
    }

    type StreamArticlesStream = BoxStream<'static, Result<StreamArticlesResponse, Status>>;

    async fn stream_articles(
        &self,
        _request: Request<StreamArticlesRequest>,
    ) -> Result<Response<Self::StreamArticlesStream>, Status> {
        let messages = std::sync::Arc::clone(&self.stream_messages);
        let stream = stream::iter(0..self.stream_count)
            .map(move |index| Ok(messages[index % messages.len()].clone()));
        Ok(Response::new(stream.boxed()))
    }

    type WatchArticlesStream = BoxStream<'static, Result<WatchArticlesResponse, Status>>;

    async fn watch_articles(
        &self,
        _request: Request<WatchArticlesRequest>,
    ) -> Result<Response<Self::WatchArticlesStream>, Status> {
        let receiver = self.sender.subscribe();
        let events = stream::unfold(receiver, |mut receiver| async move {
            match receiver.recv().await {
                Ok(event) => Some((Ok(event), receiver)),
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    Some((Err(Status::resource_exhausted("lagged")), receiver))
                }
                Err(broadcast::error::RecvError::Closed) => None,
            }
        });
        Ok(Response::new(events.boxed()))
    }
}

/// Prints `ADDRESS PID`, the child's one line.
fn announce(listener: &TcpListener) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{} {}", listener.local_addr()?, std::process::id())?;
    stdout.flush()?;
    Ok(())
}
