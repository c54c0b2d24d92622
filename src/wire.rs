//! The encoded article that stores keep beside each row
//! (`ProstArticleEncoder`, injected into them as their `ArticleEncoder`).
//!
//! The stores call that encoder when they write, and StreamArticles sends
//! those bytes as they were stored, with no JSON to parse and no
//! message to build per article. An encoded article decodes to exactly
//! `convert::to_proto::article_to_proto`'s message; the stores never look
//! inside it.

use prost::Message;

use crate::article;

mod prost_encoder;

pub use self::prost_encoder::{ENCODING_VERSION, ProstArticleEncoder, article_encoder};

/// The conversions to protobuf, under the paths the stores and benchmarks
/// import them by; they live in `convert::to_proto`.
pub use crate::convert::to_proto::{article_into_proto, article_to_proto, timestamp};

/// `article` encoded as a `newswire.v1.Article`.
pub fn encode_article(article: article::Article) -> Vec<u8> {
    article_into_proto(article).encode_to_vec()
}
