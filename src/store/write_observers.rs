//! The one hook on the writes through a store: both the SQLite read cache
//! (its write generation) and the change feed's hub (its wake-up) hang on
//! it, so neither has to wrap the whole `Store`.

use std::sync::{Arc, RwLock};

use tokio::sync::Notify;

/// Told after every write through a store (create, update, delete, import
/// batch), whatever its outcome: a failed write may still have committed
/// (`Error::OutcomeUnknown`), and a needless wake-up is cheap. It runs
/// before the write returns, so whoever the write is acknowledged to sees
/// its effects.
pub trait WriteObserver: Send + Sync + 'static {
    /// Called once per write, on the caller's task; must not block.
    fn after_write(&self);
}

/// The change feed's hub waits on a `Notify`: a write wakes it.
impl WriteObserver for Notify {
    fn after_write(&self) {
        self.notify_one();
    }
}

/// The observers of one store, in the order they were added.
#[derive(Default)]
pub(super) struct WriteObservers {
    /// Added to at start-up, read by every write.
    observers: RwLock<Vec<Arc<dyn WriteObserver>>>,
}

impl WriteObservers {
    /// Tells `observer` of every later write.
    pub(super) fn add(&self, observer: Arc<dyn WriteObserver>) {
        self.observers
            .write()
            // A panic while adding leaves a list that is still valid.
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(observer);
    }

    /// Tells every observer of a write that ended with `result`, then hands
    /// the result back.
    pub(super) fn observed<T>(&self, result: T) -> T {
        let observers = self
            .observers
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for observer in observers.iter() {
            observer.after_write();
        }
        result
    }
}

impl std::fmt::Debug for WriteObservers {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("WriteObservers")
            .finish_non_exhaustive()
    }
}
