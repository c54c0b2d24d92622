//! Limits of streaming calls: a stream that carries no message for
//! `limits.stream_idle_timeout_seconds` ends with DEADLINE_EXCEEDED; one
//! that lives `limits.stream_max_lifetime_seconds` ends with UNAVAILABLE,
//! which the client resumes on a new call (an import from where it got;
//! a watch from its last revision). `max_watchers` and the drain signal are
//! here for the watch streams of the change feed.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tonic::Status;

use super::status;

/// A boxed stream of messages or a final status, as a bounded call sends.
pub type BoundedStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// What bounds a streaming call.
#[derive(Debug, Clone)]
pub struct StreamLimits {
    pub idle_timeout: Duration,
    pub max_lifetime: Duration,
    /// Watch streams open at once, at most.
    pub max_watchers: usize,
    /// Becomes `true` when the server starts draining: watch streams end
    /// then with UNAVAILABLE, so clients resume on another replica.
    pub draining: watch::Receiver<bool>,
    /// A permit per open watch stream, `max_watchers` in all.
    watchers: Arc<Semaphore>,
}

impl StreamLimits {
    /// The configured limits (`limits.stream_idle_timeout_seconds`,
    /// `limits.stream_max_lifetime_seconds`, `limits.max_watchers`), with
    /// `draining` from the server.
    pub fn new(
        idle_timeout: Duration,
        max_lifetime: Duration,
        max_watchers: usize,
        draining: watch::Receiver<bool>,
    ) -> Self {
        Self {
            idle_timeout,
            max_lifetime,
            max_watchers,
            draining,
            watchers: Arc::new(Semaphore::new(max_watchers)),
        }
    }

    /// A watch stream, admitted if fewer than `max_watchers` are open (else
    /// RESOURCE_EXHAUSTED) and ended with UNAVAILABLE at its lifetime, so
    /// the client resumes from its last revision. Watches are not cut for
    /// idling: the feed's progress events are their heartbeat.
    pub fn watch<T, S>(&self, stream: S) -> Result<BoundedStream<T>, Status>
    where
        T: Send + 'static,
        S: Stream<Item = Result<T, Status>> + Unpin + Send + 'static,
    {
        let permit = Arc::clone(&self.watchers)
            .try_acquire_owned()
            .map(WatcherSlot::new)
            .map_err(|_| status::too_many_watchers(self.max_watchers))?;
        Ok(limited(
            stream,
            permit,
            None,
            self.max_lifetime,
            "watch",
            "watch again with start_revision = the last revision received",
        ))
    }

    /// `stream`, ended with a status when it idles or outlives its lifetime.
    pub fn bound<T, S>(&self, stream: S) -> BoundedStream<T>
    where
        T: Send + 'static,
        S: Stream<Item = Result<T, Status>> + Unpin + Send + 'static,
    {
        limited(
            stream,
            (),
            Some(self.idle_timeout),
            self.max_lifetime,
            "stream",
            "resume on a new call",
        )
    }
}

/// `stream`, holding `held` for as long as it runs, ended with UNAVAILABLE
/// (the message naming `what` and how to `resume`) once it has lived
/// `max_lifetime`, and, given an `idle_timeout`, with DEADLINE_EXCEEDED
/// when it carries no message that long.
fn limited<T, S, H>(
    stream: S,
    held: H,
    idle_timeout: Option<Duration>,
    max_lifetime: Duration,
    what: &'static str,
    resume: &'static str,
) -> BoundedStream<T>
where
    T: Send + 'static,
    S: Stream<Item = Result<T, Status>> + Unpin + Send + 'static,
    H: Send + 'static,
{
    let end_of_life = Instant::now() + max_lifetime;
    Box::pin(futures::stream::unfold(
        Some((stream, held)),
        move |state| async move {
            let (mut stream, held) = state?;
            let until_end = end_of_life.saturating_duration_since(Instant::now());
            let wait = idle_timeout.map_or(until_end, |idle| idle.min(until_end));
            match tokio::time::timeout(wait, stream.next()).await {
                Ok(Some(item)) => Some((item, Some((stream, held)))),
                Ok(None) => None,
                Err(_) => {
                    let ending = match idle_timeout {
                        Some(idle) if Instant::now() < end_of_life => {
                            status::stream_idle(what, idle)
                        }
                        _ => status::stream_lifetime_reached(what, max_lifetime, resume),
                    };
                    Some((Err(ending), None))
                }
            }
        },
    ))
}

/// An admitted watch's place among `max_watchers`, counted in the
/// `newswire_watchers` gauge for as long as the stream holds it.
struct WatcherSlot {
    _permit: OwnedSemaphorePermit,
}

impl WatcherSlot {
    fn new(permit: OwnedSemaphorePermit) -> Self {
        metrics::gauge!(crate::metrics::WATCHERS).increment(1.0);
        Self { _permit: permit }
    }
}

impl Drop for WatcherSlot {
    fn drop(&mut self) {
        metrics::gauge!(crate::metrics::WATCHERS).decrement(1.0);
    }
}

/// The configuration's default limits (README, "Limits"), never draining:
/// for an `ArticleApi` served without `with_stream_limits`.
impl Default for StreamLimits {
    fn default() -> Self {
        Self::new(
            Duration::from_secs(300),
            Duration::from_secs(3600),
            1024,
            watch::channel(false).1,
        )
    }
}
