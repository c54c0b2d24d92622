//! The pieces of the service benchmark, one concept per file; the other
//! benchmarks include the ones they share with `#[path]`.

pub mod bare;
pub mod bare_server;
pub mod child;
pub mod corpus;
pub mod get_article;
pub mod harness;
pub mod import;
pub mod import_comparison;
pub mod load;
pub mod machine;
pub mod process;
pub mod raw;
pub mod report;
pub mod rounds;
pub mod serve;
pub mod settings;
pub mod sqlite_server;
