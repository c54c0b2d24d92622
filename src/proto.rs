//! The generated protobuf and gRPC code, as `proto/` describes it. Only
//! `api`, `convert`, `wire` and `client` use these types; the domain never
//! sees them. The server newswire serves is generated a second time, with
//! three answers of its own: `api::served`.

mod generated {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("newswire.v1");
}

pub use generated::*;

/// The encoded descriptor set of `proto/`, served by reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("newswire_descriptor");
