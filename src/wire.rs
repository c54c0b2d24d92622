//! The encoded article that stores keep beside each row.
//!
//! The stores call `encode_article` when they write, and StreamArticles
//! sends those bytes as they were stored, with no JSON to parse and no
//! message to build per article. An encoded article decodes to exactly
//! `convert::to_proto::article_to_proto`'s message; the stores never look
//! inside it.

use prost::Message;

use crate::article;
use crate::query::{Cursor, Order, Page};

/// The conversions to protobuf, under the paths the stores and benchmarks
/// import them by; they live in `convert::to_proto`.
pub use crate::convert::to_proto::{article_into_proto, article_to_proto, timestamp};

/// `article` encoded as a `newswire.v1.Article`.
pub fn encode_article(article: article::Article) -> Vec<u8> {
    article_into_proto(article).encode_to_vec()
}

/// A list page whose articles are encoded (`encode_article`), each with its
/// position in the page's order, so a stream can resume after it.
#[derive(Debug, Clone, Default)]
pub struct EncodedPage {
    pub articles: Vec<EncodedArticle>,
    pub next: Option<Cursor>,
}

/// One encoded article and its position in the order it was listed in.
#[derive(Debug, Clone)]
pub struct EncodedArticle {
    pub cursor: Cursor,
    pub encoded: Vec<u8>,
}

impl EncodedPage {
    /// Encodes each article of `page`, listed in `order`.
    pub fn encode(page: Page, order: Order) -> Self {
        Self {
            articles: page
                .articles
                .into_iter()
                .map(|article| EncodedArticle {
                    cursor: order.cursor_of(&article),
                    encoded: encode_article(article),
                })
                .collect(),
            next: page.next,
        }
    }
}
