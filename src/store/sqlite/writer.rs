//! The one write connection, owned by a dedicated thread.
//!
//! SQLite admits one writer at a time, so every write goes through this
//! thread in arrival order: writes never wait on each other's locks, never
//! see `SQLITE_BUSY` from one another, and never run on the async runtime's
//! threads. Callers await a oneshot reply. WAL checkpoints run beside it
//! (`checkpointer`), not inside its commits.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::mpsc;
use std::thread;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::checkpointer::Checkpointer;
use crate::error::Error;

/// Work for the writer thread; it sends its own reply.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A handle on the writer thread. Dropping it lets the thread finish the
/// jobs already queued, then close the connection and exit.
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Moves `connection` to the database at `path` onto a new writer
    /// thread, with a checkpointer beside it.
    pub(super) fn start(connection: Connection, path: &Path) -> Result<Self, Error> {
        let checkpointer = Checkpointer::start(path)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("sqlite-writer".to_string())
            .spawn(move || run_jobs(connection, checkpointer, queue))
            .map_err(|error| Error::Internal(format!("starting the SQLite writer: {error}")))?;
        Ok(Self { jobs })
    }

    /// Runs `work` on the write connection and waits for its result.
    pub(super) async fn run<T, Work>(&self, work: Work) -> Result<T, Error>
    where
        T: Send + 'static,
        Work: FnOnce(&mut Connection) -> Result<T, Error> + Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        let job: Job = Box::new(move |connection| {
            // The caller may have gone away; the write stands regardless.
            let _ = reply.send(work(connection));
        });
        self.jobs
            .send(job)
            .map_err(|_| Error::Unavailable("the SQLite writer has stopped".to_string()))?;
        result.await.map_err(|_| {
            Error::Internal("the SQLite writer dropped a write (it panicked)".to_string())
        })?
    }
}

fn run_jobs(mut connection: Connection, checkpointer: Checkpointer, queue: mpsc::Receiver<Job>) {
    Checkpointer::watch(&connection);
    for job in queue {
        // A panicking job has already rolled its transaction back while
        // unwinding (rusqlite transactions roll back on drop); its caller
        // sees the dropped reply. Keep serving the others.
        if catch_unwind(AssertUnwindSafe(|| job(&mut connection))).is_err() {
            tracing::error!("an SQLite write panicked; its transaction was rolled back");
        }
        checkpointer.after_commit(&connection);
    }
    // Its last checkpoint first: at close the writer's connection
    // checkpoints what is left.
    drop(checkpointer);
    // SQLite's advice for long-lived connections: refresh the planner's
    // statistics where they have gone stale, on the way out.
    if let Err(error) = connection.execute_batch("PRAGMA optimize;") {
        tracing::warn!("PRAGMA optimize on closing the SQLite store failed: {error}");
    }
}
