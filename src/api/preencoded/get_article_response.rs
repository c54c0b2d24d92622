//! The GetArticle answer newswire sends, written from an article's kept
//! encoding (`api::encoded_answers`).

use prost::bytes::Bytes;

/// A `newswire.v1.GetArticleResponse` whose article is already encoded.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetArticleResponse {
    /// A `newswire.v1.Article`, encoded; shared, so answering it again
    /// copies nothing.
    #[prost(bytes = "bytes", tag = "1")]
    pub article: Bytes,
}
