//! The generated protobuf and gRPC code: the only place it is included.
//! Only `api`, `wire` (and clients) use these types; the domain never sees them.

#![allow(missing_docs, clippy::all)]

tonic::include_proto!("newswire.v1");

/// The encoded descriptor set of `proto/`, served by reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("newswire_descriptor");

/// The server newswire serves: the same service and messages, except that
/// WatchArticles answers are `api::watch_response::WatchResponse`, which
/// encodes the same `WatchArticlesResponse` from a change's shared bytes,
/// StreamArticles answers are `api::stream::StreamResponse`, which
/// writes an article as the store keeps it encoded, and GetArticle answers
/// `api::get_response::GetArticleAnswer`, which encodes the same
/// `GetArticleResponse` from bytes kept per article.
pub mod served {
    include!(concat!(env!("OUT_DIR"), "/served/newswire.v1.rs"));
}
