//! The generated protobuf and gRPC code: the only place it is included.
//! Only `api`, `convert`, `wire` and `client` use these types; the domain
//! never sees them.
//!
//! - `preencoded`  the three answers newswire writes from bytes it already
//!   holds, in place of the generated messages of the same names
//! - `served`      the server newswire serves, which sends those

mod generated {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("newswire.v1");
}

pub mod preencoded;

pub use generated::*;

/// The encoded descriptor set of `proto/`, served by reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("newswire_descriptor");

/// The server newswire serves: the same service and messages, except that
/// its GetArticle, StreamArticles and WatchArticles answers are the
/// `preencoded` messages of the same names (`build.rs`), which a client
/// decodes as the generated ones.
#[allow(missing_docs, clippy::all)]
pub mod served {
    include!(concat!(env!("OUT_DIR"), "/served/newswire.v1.rs"));
}
