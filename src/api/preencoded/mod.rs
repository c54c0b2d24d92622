//! The answers newswire writes from bytes it already holds, each named as
//! the `newswire.v1` message it stands for and encoding exactly as that
//! message would, so a client decodes the message `proto/` describes.
//! `build.rs` maps the served service's answers to these (`extern_path`).
//!
//! - `GetArticleResponse`     an article's encoding kept while a store's cache shares it
//! - `StreamArticlesResponse` an article as the store keeps it encoded
//! - `WatchArticlesResponse`  a change's event, encoded once for all its watchers
//!
//! An embedded message is a length-delimited field, as `bytes` is, so
//! encoded bytes can stand in for a message field. The field numbers and
//! wire types these write are checked against the compiled descriptor set
//! (`descriptor_check`), so a change to `proto/` cannot leave them behind.

mod get_article_response;
mod stream_articles_response;
mod watch_articles_response;

#[cfg(test)]
mod descriptor_check;

pub use get_article_response::GetArticleResponse;
pub use stream_articles_response::StreamArticlesResponse;
pub use watch_articles_response::WatchArticlesResponse;
