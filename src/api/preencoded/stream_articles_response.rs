//! The StreamArticles answer newswire sends, written from an article as
//! the store keeps it encoded (`Store::list_encoded`), so a stream neither
//! parses nor encodes an article.

/// A `newswire.v1.StreamArticlesResponse` whose article is already encoded.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StreamArticlesResponse {
    /// A `newswire.v1.Article`, encoded (`wire::encode_article`).
    #[prost(bytes = "vec", tag = "1")]
    pub article: Vec<u8>,
    /// The token that resumes the stream after this article.
    #[prost(string, tag = "2")]
    pub resume_token: String,
}
