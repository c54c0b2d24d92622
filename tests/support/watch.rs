//! Consuming WatchArticles in tests: events with a deadline, never a sleep.

use std::time::Duration;

use newswire::proto::article_event::{FilterTransition, Type};
use newswire::proto::article_service_client::ArticleServiceClient;
use newswire::proto::{ArticleEvent, ArticleQuery, WatchArticlesRequest, WatchArticlesResponse};
use tonic::transport::Channel;
use tonic::{Status, Streaming};

/// How long a test waits for an event before failing: generous, for a
/// noisy two-core machine.
pub const EVENT_DEADLINE: Duration = Duration::from_secs(60);

/// A progress interval short enough for tests to reach a revision quickly.
pub fn fast_progress() -> prost_types::Duration {
    prost_types::Duration {
        seconds: 0,
        nanos: 200_000_000,
    }
}

/// A request watching `filter` after `start_revision` with fast progress.
pub fn request(filter: ArticleQuery, start_revision: Option<i64>) -> WatchArticlesRequest {
    WatchArticlesRequest {
        filter: Some(filter),
        start_revision,
        send_initial: false,
        progress_interval: Some(fast_progress()),
    }
}

/// Starts a watch.
pub async fn watch(
    client: &mut ArticleServiceClient<Channel>,
    request: WatchArticlesRequest,
) -> Streaming<WatchArticlesResponse> {
    client
        .watch_articles(request)
        .await
        .expect("the watch starts")
        .into_inner()
}

/// The next event, the status that ended the stream, or a panic after the
/// deadline.
pub async fn next(stream: &mut Streaming<WatchArticlesResponse>) -> Result<ArticleEvent, Status> {
    match tokio::time::timeout(EVENT_DEADLINE, stream.message()).await {
        Ok(Ok(Some(response))) => Ok(response.event.expect("a response carries an event")),
        Ok(Ok(None)) => panic!("a watch ended without a status"),
        Ok(Err(status)) => Err(status),
        Err(_) => panic!("no event within {EVENT_DEADLINE:?}"),
    }
}

/// Whether an event is a change (created, updated, deleted).
pub fn is_change(event: &ArticleEvent) -> bool {
    matches!(
        Type::try_from(event.r#type),
        Ok(Type::Created | Type::Updated | Type::Deleted)
    )
}

/// Change events until one event (of any type) reaches `revision`; fails
/// on an error status.
pub async fn changes_through(
    stream: &mut Streaming<WatchArticlesResponse>,
    revision: i64,
) -> Vec<ArticleEvent> {
    let mut changes = Vec::new();
    loop {
        let event = next(stream).await.expect("the watch goes on");
        let reached = event.revision >= revision;
        if is_change(&event) {
            changes.push(event);
        }
        if reached {
            return changes;
        }
    }
}

/// Waits for the first progress event: the watch is then live.
pub async fn until_progress(stream: &mut Streaming<WatchArticlesResponse>) -> i64 {
    loop {
        let event = next(stream).await.expect("the watch goes on");
        if event.r#type == Type::Progress as i32 {
            return event.revision;
        }
    }
}

/// (type, revision, key, transition) of each event.
pub fn summary(events: &[ArticleEvent]) -> Vec<(Type, i64, String, FilterTransition)> {
    events
        .iter()
        .map(|event| {
            (
                Type::try_from(event.r#type).expect("a known type"),
                event.revision,
                event.article.as_ref().expect("an article").key.clone(),
                FilterTransition::try_from(event.filter_transition).expect("a known transition"),
            )
        })
        .collect()
}
