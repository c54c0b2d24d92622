//! StreamArticles: every article matching a query, read in keyset batches
//! and sent through a small bounded channel.
//!
//! The channel is what keeps memory flat: the reader task waits for room
//! before reading the next batch, and room appears only as tonic hands
//! messages to HTTP/2, whose flow control follows the client's reading. A
//! client that goes away drops the receiving end, so the reader's next send
//! fails and it stops without reading further.
//!
//! Articles go out as the store encoded them (`Store::list_encoded`): a
//! `StreamResponse` writes those bytes as the `article` field, so a stream
//! neither parses nor encodes an article.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::convert::query_from_proto;
use super::page_token;
use super::status::to_status;
use crate::error::Error;
use crate::proto;
use crate::query::{Order, PageRequest, PageSize};
use crate::store::Store;

/// Articles read per store query when the request gives no hint.
pub const DEFAULT_READ_BATCH: i32 = 100;
/// Messages queued ahead of HTTP/2: enough to keep the connection busy
/// while the next batch is read, small enough to bound memory.
const QUEUED_MESSAGES: usize = 32;

/// The stream of responses tonic sends.
pub type ArticleStream = ReceiverStream<Result<StreamResponse, Status>>;

/// A `StreamArticlesResponse` with its article already encoded: the same
/// bytes on the wire (an embedded message is a length-delimited field, as
/// `bytes` is), so a client decodes the message `proto` describes.
/// `proto::served` sends these (`build.rs`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct StreamResponse {
    /// A `newswire.v1.Article`, encoded (`wire::encode_article`).
    #[prost(bytes = "vec", tag = "1")]
    pub article: Vec<u8>,
    #[prost(string, tag = "2")]
    pub resume_token: String,
}

/// Validates `request` and starts streaming; bad input fails here, before
/// the first message.
pub fn start(
    store: Arc<dyn Store>,
    request: &proto::StreamArticlesRequest,
) -> Result<ArticleStream, Status> {
    let first = first_batch(request).map_err(to_status)?;
    let (sender, receiver) = mpsc::channel(QUEUED_MESSAGES);
    tokio::spawn(send_all(store, first, sender));
    Ok(ReceiverStream::new(receiver))
}

/// The first batch a request asks for, validated as ListArticles validates.
fn first_batch(request: &proto::StreamArticlesRequest) -> Result<PageRequest, Error> {
    let query = query_from_proto(request.query.as_ref(), "query")?;
    let order = Order::parse(&request.order_by)?;
    let size = match request.read_batch_size {
        0 => PageSize::parse(DEFAULT_READ_BATCH),
        size => PageSize::parse(size),
    }
    .map_err(|_| {
        Error::invalid(
            "read_batch_size",
            format!(
                "{} is not from 1 to {}",
                request.read_batch_size,
                crate::query::MAX_PAGE_SIZE
            ),
        )
    })?;
    let after = match request.start_after.as_str() {
        "" => None,
        token => Some(page_token::decode(token, &query, order, "start_after")?),
    };
    Ok(PageRequest {
        query,
        order,
        size,
        after,
    })
}

/// Reads batch after batch into `sender` until the last, an error, or the
/// client's departure.
async fn send_all(
    store: Arc<dyn Store>,
    mut batch: PageRequest,
    sender: mpsc::Sender<Result<StreamResponse, Status>>,
) {
    let fingerprint = batch.query.fingerprint(batch.order);
    loop {
        let page = tokio::select! {
            page = store.list_encoded(&batch) => page,
            // Do not finish a slow query for a client that has left.
            () = sender.closed() => return,
        };
        let page = match page {
            Ok(page) => page,
            Err(error) => {
                let _ = sender.send(Err(to_status(error))).await;
                return;
            }
        };
        for article in page.articles {
            let message = StreamResponse {
                resume_token: page_token::encode_with_fingerprint(&fingerprint, article.cursor),
                article: article.encoded,
            };
            if sender.send(Ok(message)).await.is_err() {
                return;
            }
        }
        match page.next {
            Some(next) => batch.after = Some(next),
            None => return,
        }
    }
}
