//! WatchArticles: validates the request, starts a watch on the change feed
//! and converts its domain events to protobuf as they are sent (a change's
//! event is encoded once for all its watchers: `watch_response`).

use std::pin::Pin;
use std::time::Duration;

use futures::{Stream, StreamExt, stream};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::convert::query_from_proto;
use super::status::to_status;
use super::watch_response::WatchResponse;
use crate::article::Revision;
use crate::error::Error;
use crate::proto::{self, article_event};
use crate::store::ChangeKind;
use crate::watch::{Feed, FilterTransition, WatchEvent, WatchItem, WatchRequest, WatchStart};
use crate::wire::{article_to_proto, timestamp};

/// Shortest and longest progress interval a request may ask for.
pub const MIN_PROGRESS_INTERVAL: Duration = Duration::from_millis(100);
pub const MAX_PROGRESS_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// The stream of responses tonic sends.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<WatchResponse, Status>> + Send + 'static>>;

/// Validates `request` and starts the watch; bad input fails here, before
/// the first event.
pub fn start(feed: &Feed, request: &proto::WatchArticlesRequest) -> Result<EventStream, Status> {
    let request = watch_request(request).map_err(to_status)?;
    let events = ReceiverStream::new(feed.watch(request)).map(to_response);
    // A watch never ends by itself: if its events end without an error
    // (the server is shutting down), say so, so that the client resumes.
    let ended = stream::once(async {
        Err(Status::unavailable(
            "the watch ended because the server is shutting down; \
             watch again with start_revision = the last revision received",
        ))
    });
    Ok(Box::pin(events.chain(ended)))
}

fn watch_request(request: &proto::WatchArticlesRequest) -> Result<WatchRequest, Error> {
    let filter = query_from_proto(request.filter.as_ref(), "filter")?;
    let start = match (request.start_revision, request.send_initial) {
        (Some(_), true) => {
            return Err(Error::invalid(
                "send_initial",
                "cannot be combined with start_revision: a snapshot starts from now",
            ));
        }
        (Some(revision), false) if revision < 0 => {
            return Err(Error::invalid("start_revision", "must not be negative"));
        }
        (Some(revision), false) => WatchStart::After(Revision(revision)),
        (None, true) => WatchStart::Snapshot,
        (None, false) => WatchStart::Now,
    };
    let progress_interval = match &request.progress_interval {
        None => None,
        Some(interval) if interval.seconds == 0 && interval.nanos == 0 => None,
        Some(interval) => Some(progress_interval(interval)?),
    };
    Ok(WatchRequest {
        filter,
        start,
        progress_interval,
    })
}

fn progress_interval(interval: &prost_types::Duration) -> Result<Duration, Error> {
    let invalid = || {
        Error::invalid(
            "progress_interval",
            format!(
                "must be from {} ms to {} s",
                MIN_PROGRESS_INTERVAL.as_millis(),
                MAX_PROGRESS_INTERVAL.as_secs()
            ),
        )
    };
    let seconds = u64::try_from(interval.seconds).map_err(|_| invalid())?;
    let nanos = u32::try_from(interval.nanos).map_err(|_| invalid())?;
    let interval = Duration::new(seconds, nanos);
    if (MIN_PROGRESS_INTERVAL..=MAX_PROGRESS_INTERVAL).contains(&interval) {
        Ok(interval)
    } else {
        Err(invalid())
    }
}

fn to_response(item: WatchItem) -> Result<WatchResponse, Status> {
    item.map(WatchResponse::from).map_err(to_status)
}

/// The protobuf form of an event.
pub fn event_to_proto(event: &WatchEvent) -> proto::ArticleEvent {
    use article_event::{FilterTransition as Transition, Type};
    match event {
        WatchEvent::Change { change, transition } => proto::ArticleEvent {
            r#type: match change.kind {
                ChangeKind::Created => Type::Created,
                ChangeKind::Updated => Type::Updated,
                ChangeKind::Deleted => Type::Deleted,
            } as i32,
            revision: change.revision.0,
            commit_time: Some(timestamp(change.commit_time)),
            article: Some(article_to_proto(&change.article)),
            filter_transition: match transition {
                FilterTransition::Unchanged => Transition::Unspecified,
                FilterTransition::Entered => Transition::Entered,
                FilterTransition::Left => Transition::Left,
            } as i32,
        },
        WatchEvent::Initial(article) => proto::ArticleEvent {
            r#type: Type::Initial as i32,
            revision: article.revision.0,
            commit_time: Some(timestamp(article.update_time)),
            article: Some(article_to_proto(article)),
            filter_transition: Transition::Unspecified as i32,
        },
        WatchEvent::InitialDone(revision) => marker(Type::InitialDone, *revision),
        WatchEvent::Progress(revision) => marker(Type::Progress, *revision),
    }
}

fn marker(kind: article_event::Type, revision: Revision) -> proto::ArticleEvent {
    proto::ArticleEvent {
        r#type: kind as i32,
        revision: revision.0,
        ..proto::ArticleEvent::default()
    }
}
