//! Limits of streaming calls: a stream that carries no message for
//! `limits.stream_idle_timeout_seconds` ends with DEADLINE_EXCEEDED; one
//! that lives `limits.stream_max_lifetime_seconds` ends with UNAVAILABLE,
//! which the client resumes on a new call (an import from where it got;
//! a watch from its last revision). `max_watchers` and the drain signal are
//! here for the watch streams of the change feed.

use std::pin::Pin;
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::sync::watch;
use tokio::time::Instant;
use tonic::Status;

use crate::settings::LimitSettings;

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
}

impl StreamLimits {
    /// The configured limits, with `draining` from the server.
    pub fn new(limits: &LimitSettings, draining: watch::Receiver<bool>) -> Self {
        Self {
            idle_timeout: Duration::from_secs(limits.stream_idle_timeout_seconds),
            max_lifetime: Duration::from_secs(limits.stream_max_lifetime_seconds),
            max_watchers: limits.max_watchers,
            draining,
        }
    }

    /// `stream`, ended with a status when it idles or outlives its lifetime.
    pub fn bound<T, S>(&self, stream: S) -> Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>
    where
        T: Send + 'static,
        S: Stream<Item = Result<T, Status>> + Unpin + Send + 'static,
    {
        let idle_timeout = self.idle_timeout;
        let max_lifetime = self.max_lifetime;
        let end_of_life = Instant::now() + max_lifetime;
        Box::pin(futures::stream::unfold(
            Some(stream),
            move |state| async move {
                let mut stream = state?;
                let wait = idle_timeout.min(end_of_life.saturating_duration_since(Instant::now()));
                match tokio::time::timeout(wait, stream.next()).await {
                    Ok(Some(item)) => Some((item, Some(stream))),
                    Ok(None) => None,
                    Err(_) if Instant::now() >= end_of_life => Some((
                        Err(Status::unavailable(format!(
                            "the stream reached its lifetime of {} s \
                             (limits.stream_max_lifetime_seconds); resume on a new call",
                            max_lifetime.as_secs()
                        ))),
                        None,
                    )),
                    Err(_) => Some((
                        Err(Status::deadline_exceeded(format!(
                            "the stream carried no message for {} s \
                             (limits.stream_idle_timeout_seconds)",
                            idle_timeout.as_secs()
                        ))),
                        None,
                    )),
                }
            },
        ))
    }
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self::new(&LimitSettings::default(), watch::channel(false).1)
    }
}
