//! The pieces of the service benchmark, one concept per file.

pub mod bare;
pub mod child;
pub mod corpus;
pub mod get_article;
pub mod import;
pub mod import_comparison;
pub mod load;
pub mod machine;
pub mod process;
pub mod raw;
pub mod report;
pub mod serve;
pub mod settings;
