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
//! `preencoded::StreamArticlesResponse` writes those bytes as the `article`
//! field, so a stream neither parses nor encodes an article.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::api::preencoded::StreamArticlesResponse;
use crate::convert::page_token;
use crate::query::PageRequest;
use crate::store::Store;

/// Messages queued ahead of HTTP/2: enough to keep the connection busy
/// while the next batch is read, small enough to bound memory.
const QUEUED_MESSAGES: usize = 32;

/// The stream of responses tonic sends.
pub type ArticleStream = ReceiverStream<Result<StreamArticlesResponse, Status>>;

/// Streams every article from the `first` batch on (validated by
/// `convert::requests::stream_from_proto`, so bad input failed before the
/// first message).
pub fn start(store: Arc<dyn Store>, first: PageRequest) -> ArticleStream {
    let (sender, receiver) = mpsc::channel(QUEUED_MESSAGES);
    tokio::spawn(send_all(store, first, sender));
    ReceiverStream::new(receiver)
}

/// Reads batch after batch into `sender` until the last, an error, or the
/// client's departure.
async fn send_all(
    store: Arc<dyn Store>,
    mut batch: PageRequest,
    sender: mpsc::Sender<Result<StreamArticlesResponse, Status>>,
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
                let _ = sender.send(Err(error.into())).await;
                return;
            }
        };
        for article in page.articles {
            let message = StreamArticlesResponse {
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
