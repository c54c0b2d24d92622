//! Compiles `proto/` with protox (pure Rust, so no system `protoc`) and
//! emits the descriptor set that server reflection serves.
//!
//! The service is generated twice: once with every message as written (the
//! client, and a server for test doubles and baselines), and once as the
//! server newswire serves, whose GetArticle, StreamArticles and
//! WatchArticles answers are the hand-written messages of the same names in
//! `api::preencoded`, written from bytes newswire already holds (an
//! article the store's read cache shares, an article as the store keeps it
//! encoded, a change's event encoded once for all its watchers).

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/newswire/v1/article.proto",
        "proto/newswire/v1/article_service.proto",
    ];
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(protos, ["proto"])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("newswire_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors.clone())?;
    let served = out_dir.join("served");
    std::fs::create_dir_all(&served)?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .out_dir(&served)
        .extern_path(".newswire.v1", "crate::proto")
        .extern_path(
            ".newswire.v1.GetArticleResponse",
            "crate::api::preencoded::GetArticleResponse",
        )
        .extern_path(
            ".newswire.v1.StreamArticlesResponse",
            "crate::api::preencoded::StreamArticlesResponse",
        )
        .extern_path(
            ".newswire.v1.WatchArticlesResponse",
            "crate::api::preencoded::WatchArticlesResponse",
        )
        .compile_fds(descriptors)?;
    Ok(())
}
