//! WAL checkpoints on their own thread, so that a commit never waits for
//! one.
//!
//! SQLite's default (`wal_autocheckpoint`) runs a checkpoint inside the
//! commit that brings the WAL to 1,000 pages: that one write waits while
//! the WAL's pages are copied into the database file and it is synced,
//! which set the tail of the commit-to-delivery latency
//! (docs/performance.md). Here the writer's WAL hook only notes the WAL's
//! size; past `CHECKPOINT_PAGES` the writer wakes this thread, which
//! checkpoints through its own connection while writes go on.
//!
//! Those checkpoints are `PASSIVE`: they never block the writer or
//! readers. But under writes that never pause, a checkpoint beside the
//! writer never catches up with it, and the WAL can only start over once
//! one has. So past `RESTART_CHECKPOINT_PAGES` the writer checkpoints
//! itself between two writes (`RESTART`: the next write waits for it, as
//! with SQLite's default), after the checkpoint in progress if there is
//! one (SQLite would not wait for it: `turn`), and the WAL starts over.
//! Durability does not depend on any of this: a commit is synced to the
//! WAL before it is acknowledged.

use std::cell::Cell;
use std::ffi::c_int;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};
use std::thread::{self, JoinHandle};

use rusqlite::Connection;
use rusqlite::hooks::Wal;

use super::rows::SqliteContext;
use super::{BUSY_TIMEOUT, open_existing};
use crate::error::Error;

/// WAL pages that make the writer wake the checkpointer: SQLite's own
/// `wal_autocheckpoint` default.
pub(super) const CHECKPOINT_PAGES: c_int = 1000;
/// WAL pages past which the writer checkpoints itself, so that the WAL
/// starts over (128 MiB of 8 KiB pages).
pub(super) const RESTART_CHECKPOINT_PAGES: c_int = 16 * CHECKPOINT_PAGES;

thread_local! {
    /// The WAL's size in pages after the writer thread's last commit, as
    /// its WAL hook saw it. A WAL hook is a plain function, and each
    /// store's writer is a thread of its own, so the hook reports here.
    static WAL_PAGES: Cell<c_int> = const { Cell::new(0) };
}

/// The checkpoint thread of one database, fed by its writer thread.
pub(super) struct Checkpointer {
    /// Holds one wake-up: those sent while a checkpoint runs coalesce.
    wake: Option<mpsc::SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Held by whichever thread is checkpointing: SQLite answers a second
    /// checkpoint with `SQLITE_BUSY` at once, without waiting.
    turn: Turn,
}

/// One checkpoint at a time in this process.
#[derive(Clone, Default)]
struct Turn(Arc<Mutex<()>>);

impl Turn {
    /// Waits for the checkpoint in progress, if any. Nothing is guarded
    /// but the turn itself, so a poisoned lock is still a good one.
    fn take(&self) -> MutexGuard<'_, ()> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Checkpointer {
    /// Opens a connection to `path` for checkpoints and starts the thread.
    pub(super) fn start(path: &Path) -> Result<Self, Error> {
        let opening = format!("opening {} for checkpoints", path.display());
        let connection = open_existing(path).context(&opening)?;
        // A checkpoint syncs the database file before the WAL is reused.
        connection
            .pragma_update(None, "synchronous", "FULL")
            .and_then(|()| connection.busy_timeout(BUSY_TIMEOUT))
            .context(&opening)?;
        let (wake, woken) = mpsc::sync_channel(1);
        let turn = Turn::default();
        let thread_turn = turn.clone();
        let thread = thread::Builder::new()
            .name("sqlite-checkpoint".to_string())
            .spawn(move || checkpoint_when_woken(&connection, &woken, &thread_turn))
            .map_err(|error| {
                Error::Internal(format!("starting the SQLite checkpointer: {error}"))
            })?;
        Ok(Self {
            wake: Some(wake),
            thread: Some(thread),
            turn,
        })
    }

    /// Makes `connection` report its WAL size to `after_commit` instead of
    /// checkpointing inside its commits. For the writer's connection.
    pub(super) fn watch(connection: &Connection) {
        connection.wal_hook(Some(note_wal_size));
    }

    /// Called on the writer thread after each job, with the writer's
    /// connection: wakes the checkpointer if the WAL has grown past
    /// `CHECKPOINT_PAGES`, or checkpoints right here past
    /// `RESTART_CHECKPOINT_PAGES`.
    pub(super) fn after_commit(&self, writer: &Connection) {
        let pages = WAL_PAGES.get();
        if pages >= RESTART_CHECKPOINT_PAGES {
            // Should a reader hold on to the WAL past the busy timeout,
            // the next write tries again.
            let _turn = self.turn.take();
            checkpoint(writer, "RESTART");
            WAL_PAGES.set(0);
        } else if pages >= CHECKPOINT_PAGES
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

/// The writer's WAL hook. It never fails: the commit has happened when it
/// runs, and an error here would make SQLite report that commit as failed.
fn note_wal_size(_wal: &Wal, pages: c_int) -> rusqlite::Result<()> {
    WAL_PAGES.set(pages);
    Ok(())
}

fn checkpoint_when_woken(connection: &Connection, woken: &mpsc::Receiver<()>, turn: &Turn) {
    while woken.recv().is_ok() {
        let _turn = turn.take();
        checkpoint(connection, "PASSIVE");
    }
}

/// Runs one checkpoint; a failure is logged, and the next one tries again.
fn checkpoint(connection: &Connection, mode: &'static str) {
    let outcome = connection.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        Ok((
            row.get::<_, bool>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, i64>(2)?,
        ))
    });
    match outcome {
        Ok((busy, wal_pages, copied)) => {
            tracing::trace!(mode, busy, wal_pages, copied, "checkpointed the SQLite WAL");
        }
        Err(error) => tracing::warn!(mode, "checkpointing the SQLite WAL failed: {error}"),
    }
}
