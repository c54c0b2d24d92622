//! The store contract run against `SqliteStore` with its read cache,
//! which is how `serve` uses SQLite: the cache must be invisible.

#[path = "support/contract/mod.rs"]
mod contract;
mod support;

use std::sync::Arc;

use newswire::store::Store;
use newswire::store::sqlite::{DEFAULT_READ_CACHE_ARTICLES, SqliteStore};

/// A database file in a temporary directory, removed on drop.
struct CachedSqliteDatabase {
    directory: tempfile::TempDir,
}

impl CachedSqliteDatabase {
    async fn create() -> Self {
        Self {
            directory: tempfile::tempdir().expect("a temporary directory"),
        }
    }
}

#[async_trait::async_trait]
impl contract::ContractDatabase for CachedSqliteDatabase {
    async fn open_store(&self) -> Arc<dyn Store> {
        let path = self.directory.path().join("newswire.sqlite3");
        let store = tokio::task::spawn_blocking(move || {
            SqliteStore::open(&path, newswire::wire::article_encoder())
        })
        .await
        .expect("the open task")
        .expect("the database opens");
        Arc::new(store.with_read_cache(DEFAULT_READ_CACHE_ARTICLES))
    }
}

contract::store_contract_tests!(CachedSqliteDatabase::create());
