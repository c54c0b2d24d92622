//! WatchArticles: starts a watch on the change feed and sends its domain
//! events as they come (a change's event is encoded once for all its
//! watchers: `preencoded::WatchArticlesResponse`).

use std::pin::Pin;

use futures::{Stream, StreamExt, stream};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::status;
use crate::api::preencoded::WatchArticlesResponse;
use crate::watch::{Feed, WatchItem, WatchRequest};

/// The stream of responses tonic sends.
pub type EventStream =
    Pin<Box<dyn Stream<Item = Result<WatchArticlesResponse, Status>> + Send + 'static>>;

/// Starts the watch `request` (validated by
/// `convert::requests::watch_from_proto`, so bad input failed before the
/// first event).
pub fn start(feed: &Feed, request: WatchRequest) -> EventStream {
    let events = ReceiverStream::new(feed.watch(request)).map(to_response);
    // A watch never ends by itself: if its events end without an error
    // (the server is shutting down), say so, so that the client resumes.
    let ended = stream::once(async { Err(status::watch_ended_by_shutdown()) });
    Box::pin(events.chain(ended))
}

fn to_response(item: WatchItem) -> Result<WatchArticlesResponse, Status> {
    item.map(WatchArticlesResponse::from).map_err(Status::from)
}
