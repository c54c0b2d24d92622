//! The change feed's wake-up across replicas: one connection per replica
//! that LISTENs on `CHANNEL`, on which every write transaction NOTIFYs
//! (`writes`, delivered at commit).
//!
//! A notification only says "read the change log": it carries nothing, and
//! a lost one costs latency, never a change, because the feed also polls.
//! The connection is opened apart from the pool (a pooled session cannot
//! hold a LISTEN) and reopened, with a growing pause, whenever it fails;
//! every (re)connection wakes the feed once, for what it may have missed.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::Notify;
use tokio_postgres::AsyncMessage;

use super::connection::Settings;

/// The notification channel of committed writes.
pub(super) const CHANNEL: &str = "newswire_change_log";

/// First pause before reconnecting.
const MIN_RECONNECT_PAUSE: Duration = Duration::from_millis(100);
/// Longest pause between reconnection attempts.
const MAX_RECONNECT_PAUSE: Duration = Duration::from_secs(5);

/// Wakes `wake` at every notification, forever (until dropped).
pub(super) async fn listen(settings: Settings, wake: Arc<Notify>) {
    let mut pause = MIN_RECONNECT_PAUSE;
    loop {
        let started = tokio::time::Instant::now();
        match listen_once(&settings, &wake).await {
            Ok(()) => tracing::warn!(
                target = settings.target(),
                "the change-feed listener's connection closed; reconnecting"
            ),
            Err(error) => tracing::warn!(
                target = settings.target(),
                %error,
                "the change-feed listener failed; reconnecting"
            ),
        }
        // A connection that lived a while failed afresh: start small again.
        if started.elapsed() > MAX_RECONNECT_PAUSE * 2 {
            pause = MIN_RECONNECT_PAUSE;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_RECONNECT_PAUSE);
    }
}

/// One connection's life: LISTEN, then wake at each notification until the
/// connection ends.
async fn listen_once(settings: &Settings, wake: &Notify) -> Result<(), tokio_postgres::Error> {
    let (client, mut messages) = settings.connect_with_messages().await?;
    // The LISTEN needs the connection driven while it runs.
    {
        let statement = format!("LISTEN {CHANNEL}");
        let listening = client.batch_execute(&statement);
        tokio::pin!(listening);
        loop {
            tokio::select! {
                result = &mut listening => { result?; break; }
                message = messages.next() => match message {
                    Some(Ok(_)) => {}
                    Some(Err(error)) => return Err(error),
                    None => return Ok(()),
                },
            }
        }
    }
    tracing::debug!(
        target = settings.target(),
        "the change-feed listener is listening"
    );
    // Whatever was committed before the LISTEN took effect.
    wake.notify_one();
    while let Some(message) = messages.next().await {
        match message? {
            AsyncMessage::Notification(_) => wake.notify_one(),
            AsyncMessage::Notice(notice) => {
                tracing::debug!(notice = %notice, "notice on the change-feed listener")
            }
            _ => {}
        }
    }
    drop(client);
    Ok(())
}
