//! Articles as the bytes StreamArticles sends, and the encoder a store is
//! given to make them.
//!
//! A store never knows the wire format: it is handed an `ArticleEncoder`
//! (production: `wire::ProstArticleEncoder`, a `newswire.v1.Article`) and
//! keeps or returns its bytes as they are. A store that keeps encodings
//! records the encoder's `fingerprint` beside them and re-encodes every
//! article when it is opened with an encoder whose fingerprint differs, so
//! a field added to the message reaches the stored bytes before anything
//! is served.

use crate::article::Article;
use crate::query::{Cursor, Order, Page};

/// Turns an article into the bytes a stream sends for it.
pub trait ArticleEncoder: Send + Sync + 'static {
    /// `article` encoded. Takes the article by value so the encoder can
    /// move its strings instead of copying them.
    fn encode(&self, article: Article) -> Vec<u8>;

    /// Names the encoding: two encoders with equal fingerprints write equal
    /// bytes for every article. It must change whenever the encoding does
    /// (a field added to the message, a new encoding version), since that
    /// is what tells a store its kept encodings are stale.
    fn fingerprint(&self) -> String;
}

/// A list page whose articles are encoded, each with its position in the
/// page's order, so a stream can resume after it.
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
    /// Encodes each article of `page`, listed in `order`, with `encoder`:
    /// for a store that keeps no encodings.
    pub fn encode(page: Page, order: Order, encoder: &dyn ArticleEncoder) -> Self {
        Self {
            articles: page
                .articles
                .into_iter()
                .map(|article| EncodedArticle {
                    cursor: order.cursor_of(&article),
                    encoded: encoder.encode(article),
                })
                .collect(),
            next: page.next,
        }
    }
}

/// A store's tests' encoder, which keeps them free of the wire format:
/// an article's `Debug` text, so equal articles encode equally and a
/// change to any field shows.
#[cfg(test)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DebugEncoder;

#[cfg(test)]
impl DebugEncoder {
    pub(crate) fn shared() -> std::sync::Arc<dyn ArticleEncoder> {
        std::sync::Arc::new(Self)
    }
}

#[cfg(test)]
impl ArticleEncoder for DebugEncoder {
    fn encode(&self, article: Article) -> Vec<u8> {
        format!("{article:?}").into_bytes()
    }

    fn fingerprint(&self) -> String {
        "test: the article's Debug text".to_string()
    }
}
