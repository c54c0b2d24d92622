//! A change as the hub broadcasts it: shared by every watcher, with room
//! for the one encoding of it that they all send.

use std::ops::Deref;
use std::sync::OnceLock;

use crate::store::Change;

/// A committed change, and its encoding for the wire once a watcher has
/// made it. The feed does not know the encoding (the API does): it only
/// keeps it, so that W watchers of one change encode it once, not W times.
#[derive(Debug)]
pub struct FeedChange {
    change: Change,
    encoded: OnceLock<Vec<u8>>,
}

impl FeedChange {
    pub fn new(change: Change) -> Self {
        Self {
            change,
            encoded: OnceLock::new(),
        }
    }

    /// The encoding `encode` makes of this change, made by the first caller
    /// and shared with the rest. Every caller must pass the same encoder.
    pub fn encoded(&self, encode: impl FnOnce(&Change) -> Vec<u8>) -> &[u8] {
        self.encoded.get_or_init(|| encode(&self.change))
    }
}

impl Deref for FeedChange {
    type Target = Change;

    fn deref(&self) -> &Change {
        &self.change
    }
}
