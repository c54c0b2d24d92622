//! The store contract (`tests/support/contract/`) run against `SqliteStore`,
//! each check on a fresh database file in its own temporary directory.

#[path = "support/contract/mod.rs"]
mod contract;
mod support;

use std::sync::Arc;

use newswire::store::Store;
use newswire::store::sqlite::SqliteStore;

/// A database file in a temporary directory, removed on drop.
struct SqliteDatabase {
    directory: tempfile::TempDir,
}

impl SqliteDatabase {
    async fn create() -> Self {
        let directory = tempfile::tempdir().expect("a temporary directory");
        Self { directory }
    }
}

#[async_trait::async_trait]
impl contract::ContractDatabase for SqliteDatabase {
    async fn open_store(&self) -> Arc<dyn Store> {
        // A directory that does not exist yet: opening creates it.
        let path = self.directory.path().join("data/newswire.sqlite3");
        let store = tokio::task::spawn_blocking(move || {
            SqliteStore::open(&path, newswire::wire::article_encoder())
        })
        .await
        .expect("the open task")
        .expect("the database opens");
        Arc::new(store)
    }
}

contract::store_contract_tests!(SqliteDatabase::create());
