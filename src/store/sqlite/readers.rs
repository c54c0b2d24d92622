//! The read connections: a small pool, each read one blocking task.
//!
//! A read takes a permit (so at most `size` run at once), then on a blocking
//! thread takes an idle connection, or opens one, runs, and puts it back.
//! One hop to the blocking pool per read and nothing else: a general pool
//! (deadpool-sqlite) costs a second hop per checkout to test the connection,
//! which for a read of tens of microseconds is most of the price.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::Semaphore;

use super::open_existing;
use super::rows::SqliteContext;
use crate::error::Error;

/// The pool of read connections to one database.
pub(super) struct Readers {
    permits: Arc<Semaphore>,
    idle: Arc<IdleConnections>,
    /// How long a read waits for a free connection before `Unavailable`.
    wait: Duration,
}

struct IdleConnections {
    path: PathBuf,
    configure: fn(&Connection) -> rusqlite::Result<()>,
    connections: Mutex<Vec<Connection>>,
}

impl IdleConnections {
    /// The list stays valid even if a holder panicked: a push or pop
    /// either happened or did not.
    fn lock(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn take_or_open(&self) -> Result<Connection, Error> {
        if let Some(connection) = self.lock().pop() {
            return Ok(connection);
        }
        let opening = format!("opening {} to read", self.path.display());
        // Made read-only by `configure` (`query_only`): a read-only open
        // could not recreate the WAL index should it be missing.
        let connection = open_existing(&self.path).context(&opening)?;
        (self.configure)(&connection).context(&opening)?;
        Ok(connection)
    }

    /// Keeps a connection for the next read, unless a read left it inside
    /// a transaction (then it is closed, and a fresh one opened later).
    fn give_back(&self, connection: Connection) {
        if connection.is_autocommit() {
            self.lock().push(connection);
        }
    }
}

impl Readers {
    /// At most `size` connections to `path`, opened when first needed and
    /// set up by `configure`.
    pub(super) fn new(
        path: PathBuf,
        size: usize,
        wait: Duration,
        configure: fn(&Connection) -> rusqlite::Result<()>,
    ) -> Self {
        Self {
            wait,
            permits: Arc::new(Semaphore::new(size)),
            idle: Arc::new(IdleConnections {
                path,
                configure,
                connections: Mutex::new(Vec::with_capacity(size)),
            }),
        }
    }

    /// Runs `work` on a read connection on a blocking thread.
    pub(super) async fn run<T, Work>(&self, work: Work) -> Result<T, Error>
    where
        T: Send + 'static,
        Work: FnOnce(&mut Connection) -> Result<T, Error> + Send + 'static,
    {
        let permit = tokio::time::timeout(self.wait, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| Error::Unavailable("every SQLite read connection is busy".to_string()))?
            .map_err(|_| Error::Unavailable("the SQLite read pool is closed".to_string()))?;
        let idle = Arc::clone(&self.idle);
        tokio::task::spawn_blocking(move || {
            // Held until the connection is back, even if the caller left.
            let _permit = permit;
            let mut connection = idle.take_or_open()?;
            let result = work(&mut connection);
            idle.give_back(connection);
            result
        })
        .await
        .map_err(|error| Error::Internal(format!("an SQLite read task failed: {error}")))?
    }
}
