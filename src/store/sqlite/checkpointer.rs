//! WAL checkpoints on their own thread, so that a commit never waits for
//! one.
//!
//! SQLite's default (`wal_autocheckpoint`) runs a checkpoint inside the
//! commit that brings the WAL to 1,000 pages: that one write waits while
//! the WAL's pages are copied into the database file and it is synced,
//! which set the tail of the commit-to-delivery latency
//! (docs/performance.md). Here the writer's WAL hook only notes the WAL's
//! size; past `CHECKPOINT_PAGES` the writer wakes this thread, which
//! checkpoints through its own connection while writes go on. A
//! checkpoint that falls far behind (`INLINE_CHECKPOINT_PAGES`, a long
//! burst of writes) is run by the writer itself, as SQLite would, so the
//! WAL stays bounded.
//!
//! Checkpoints are `PASSIVE`: they copy what no reader still needs and
//! never block readers or the writer. Durability does not depend on them:
//! a commit is synced to the WAL before it is acknowledged.

use std::cell::Cell;
use std::ffi::c_int;
use std::path::Path;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};

use rusqlite::hooks::Wal;
use rusqlite::{Connection, OpenFlags};

use super::BUSY_TIMEOUT;
use super::rows::SqliteContext;
use crate::error::Error;

/// WAL pages that make the writer wake the checkpointer: SQLite's own
/// `wal_autocheckpoint` default.
pub(super) const CHECKPOINT_PAGES: c_int = 1000;
/// WAL pages past which the writer checkpoints inline (about 64 MiB of
/// 4 KiB pages).
pub(super) const INLINE_CHECKPOINT_PAGES: c_int = 16 * CHECKPOINT_PAGES;

thread_local! {
    /// The WAL's size in pages after the writer thread's last commit, as
    /// its WAL hook saw it. A WAL hook is a plain function, and each
    /// store's writer is a thread of its own, so the hook reports here.
    static WAL_PAGES: Cell<c_int> = const { Cell::new(0) };
}

/// The checkpoint thread of one database, fed by its writer thread.
pub(super) struct Checkpointer {
    /// Holds at most one wake-up: wake-ups while a checkpoint runs
    /// coalesce.
    wake: Option<mpsc::SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens a connection to `path` for checkpoints and starts the thread.
    pub(super) fn start(path: &Path) -> Result<Self, Error> {
        let opening = format!("opening {} for checkpoints", path.display());
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .context(&opening)?;
        // A checkpoint syncs the database file before the WAL is reused.
        connection
            .pragma_update(None, "synchronous", "FULL")
            .and_then(|()| connection.busy_timeout(BUSY_TIMEOUT))
            .context(&opening)?;
        let (wake, woken) = mpsc::sync_channel(1);
        let thread = thread::Builder::new()
            .name("sqlite-checkpoint".to_string())
            .spawn(move || checkpoint_when_woken(&connection, &woken))
            .map_err(|error| {
                Error::Internal(format!("starting the SQLite checkpointer: {error}"))
            })?;
        Ok(Self {
            wake: Some(wake),
            thread: Some(thread),
        })
    }

    /// Makes the calling thread's connection report its WAL size to
    /// `after_commit`, instead of checkpointing inside its commits. Call it
    /// on the writer thread, about its connection.
    pub(super) fn watch(connection: &Connection) {
        connection.wal_hook(Some(note_wal_size));
    }

    /// Called by the writer thread after each job: wakes the checkpointer
    /// if the WAL has grown past `CHECKPOINT_PAGES`.
    pub(super) fn after_commit(&self) {
        if WAL_PAGES.get() >= CHECKPOINT_PAGES
            && let Some(wake) = &self.wake
        {
            // Full: a wake-up is pending already.
            let _ = wake.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    /// Lets a running checkpoint finish, so that the database is closed
    /// by one connection at a time at shutdown.
    fn drop(&mut self) {
        drop(self.wake.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the SQLite checkpointer panicked");
        }
    }
}

/// The writer's WAL hook: notes the WAL's size; checkpoints inline only
/// past `INLINE_CHECKPOINT_PAGES`.
fn note_wal_size(wal: &Wal, pages: c_int) -> rusqlite::Result<()> {
    if pages >= INLINE_CHECKPOINT_PAGES {
        wal.checkpoint()?;
    }
    WAL_PAGES.set(pages);
    Ok(())
}

fn checkpoint_when_woken(connection: &Connection, woken: &mpsc::Receiver<()>) {
    while woken.recv().is_ok() {
        let checkpoint = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
        });
        match checkpoint {
            Ok((wal_pages, copied)) => {
                tracing::trace!(wal_pages, copied, "checkpointed the SQLite WAL");
            }
            Err(error) => tracing::warn!("checkpointing the SQLite WAL failed: {error}"),
        }
    }
}
