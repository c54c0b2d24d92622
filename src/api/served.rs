//! The server newswire serves: the generated service and messages, except
//! that its GetArticle, StreamArticles and WatchArticles answers are the
//! `preencoded` messages of the same names (`build.rs`'s `extern_path`),
//! which a client decodes as the generated ones. It is generated into the
//! edge, not `proto`, because those answers are built from the edge's
//! domain values: `proto` stays generated code that depends on nothing.

#![allow(missing_docs, clippy::all)]

include!(concat!(env!("OUT_DIR"), "/served/newswire.v1.rs"));
