//! The store contract (see `src/store.rs`) as checks that every `Store`
//! implementation must pass, written once and run against each.
//!
//! A backend's test crate implements `ContractDatabase` (a fresh, empty
//! database per test that can be opened more than once) and registers every
//! check with `store_contract_tests!`; each check becomes its own
//! `#[tokio::test]` with its own database:
//!
//! ```ignore
//! mod support;
//! #[path = "support/contract/mod.rs"]
//! mod contract;
//! contract::store_contract_tests!(MyDatabase::create());
//! ```
//!
//! Only a crate that registers the checks includes this module, which is
//! why `tests/support/mod.rs` does not declare it: every other test crate
//! would compile two thousand lines it never runs. So everything here is
//! used wherever it is compiled, and nothing needs a lint allowance.
//!
//! Data is realistic (`data.rs`): the shared corpus of feed documents, with
//! a few deterministic variations (missing values, ties, sub-microsecond
//! times, shared URLs, non-ASCII words) so that every filter, order and
//! tiebreak has something to get wrong. Lists are checked against an
//! independent computation (`reference.rs`): `ArticleQuery::matches` and a
//! sort by (sort value, id).
//!
//! Beyond `src/store.rs`, the checks hold stores to one more invariant: a
//! stored article always passes `ArticleContent::validate`, so an invalid
//! item is how an import batch gets a failing item.
//!
//! The checks, one file per concern:
//! - `reads.rs`: get by id, key and URL; `get_many`; a URL shared by several
//! - `writes.rs`: updates by field mask, renames, no-op updates, deletes
//! - `preconditions.rs`: taken keys, invalid content, stale etags, missing
//!   articles: refused, and nothing written
//! - `import_batches.rs`: `upsert_batch`'s outcomes, item by item
//! - `change_log.rs`: revisions, the change log, compaction
//! - `lists.rs`: every order paged through, page boundaries, paging while
//!   others write
//! - `filters.rs`, `search.rs`: every filter and free-text queries against
//!   the reference
//! - `durability.rs`: everything is still there after a restart

use std::sync::Arc;

use newswire::store::Store;

mod assertions;
pub mod change_log;
pub mod data;
pub mod durability;
pub mod filters;
pub mod import_batches;
pub mod lists;
pub mod preconditions;
pub mod reads;
mod reference;
pub mod search;
pub mod writes;

/// A fresh database for one check, owned by the backend's test crate.
#[async_trait::async_trait]
pub trait ContractDatabase: Send + Sync {
    /// Opens a store on this database. Every call opens the same data: a
    /// second call after dropping the first store is a restart.
    async fn open_store(&self) -> Arc<dyn Store>;
}

/// Registers every check as a `#[tokio::test]`. `$new_database` is an
/// expression giving a future of a fresh `ContractDatabase`; it is
/// evaluated once per test. The invoking module must have this module in
/// scope as `contract`.
macro_rules! store_contract_tests {
    ($new_database:expr) => {
        contract::store_contract_test!($new_database, reads::create_then_get_by_id_key_and_url);
        contract::store_contract_test!(
            $new_database,
            reads::get_many_keeps_order_and_marks_missing
        );
        contract::store_contract_test!($new_database, reads::url_shared_by_two_articles);
        contract::store_contract_test!(
            $new_database,
            writes::update_applies_only_the_masked_fields
        );
        contract::store_contract_test!($new_database, writes::update_renames_the_key);
        contract::store_contract_test!(
            $new_database,
            writes::update_that_changes_nothing_writes_nothing
        );
        contract::store_contract_test!(
            $new_database,
            writes::delete_honours_the_etag_and_removes_all_trace
        );
        contract::store_contract_test!(
            $new_database,
            preconditions::create_with_a_taken_key_is_already_exists
        );
        contract::store_contract_test!(
            $new_database,
            preconditions::invalid_content_is_never_stored
        );
        contract::store_contract_test!(
            $new_database,
            preconditions::update_with_a_stale_etag_is_etag_mismatch
        );
        contract::store_contract_test!(
            $new_database,
            preconditions::update_renaming_to_a_taken_key_is_already_exists
        );
        contract::store_contract_test!(
            $new_database,
            preconditions::writes_need_an_existing_id_or_key
        );
        contract::store_contract_test!(
            $new_database,
            import_batches::upsert_batch_creates_updates_and_skips
        );
        contract::store_contract_test!(
            $new_database,
            import_batches::a_failed_batch_item_leaves_nothing_behind
        );
        contract::store_contract_test!(
            $new_database,
            change_log::revisions_increase_with_one_change_per_committed_write
        );
        contract::store_contract_test!(
            $new_database,
            change_log::updates_log_the_content_before_them
        );
        contract::store_contract_test!(
            $new_database,
            change_log::compaction_keeps_what_the_retention_says
        );
        contract::store_contract_test!($new_database, lists::every_order_pages_through_all_rows);
        contract::store_contract_test!($new_database, lists::page_boundaries_are_exact);
        contract::store_contract_test!(
            $new_database,
            lists::pagination_survives_concurrent_inserts_and_deletes
        );
        contract::store_contract_test!($new_database, filters::filters_match_the_reference);
        contract::store_contract_test!($new_database, search::text_search_matches_the_reference);
        contract::store_contract_test!($new_database, durability::reopening_keeps_everything);
    };
}
pub(crate) use store_contract_tests;

/// One check as one test with its own database, named as the check.
macro_rules! store_contract_test {
    ($new_database:expr, $concern:ident :: $check:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $check() {
            let database = $new_database.await;
            contract::$concern::$check(&database).await;
        }
    };
}
pub(crate) use store_contract_test;
