//! newswire: a gRPC content service for news articles.
//!
//! # Layout
//! - `article`  domain types (`ArticleContent`, `Article`, keys, ids, patches) and their invariants
//! - `query`    filters, orders and keyset cursors shared by listing and streaming
//! - `document` the front-matter document format ⇄ `ArticleContent`
//! - `error`    the one domain error type
//! - `store`    the `Store` contract; `store::sqlite` the embedded default
//! - `watch`    the change feed: one change-log reader per process, fanned out to watchers
//! - `proto`    the generated protobuf and gRPC code, and the answers written from pre-encoded bytes
//! - `convert`  protobuf ⇄ domain, both ways, for the server and the client alike
//! - `wire`     the encoded article the stores keep
//! - `api`      the gRPC edge: validate → convert → call the store → map the error
//! - `synthetic` articles drawn from a real corpus' distributions, and `generate`
//! - `input_files` the document and history files a list of paths names
//! - `client`   the `import`, `export` and `watch` commands
//! - `server`   `serve(listeners, store, config, shutdown)`: services, reflection, health, the gate and limits
//! - `config`   the one `Config` of `serve`: defaults, file, environment, flags; validated once
//! - `cli`      the commands and their flags (with environment variables)
//! - `auth`     identities (tokens, JWTs, client certificates) and the per-method policy
//! - `gate`     the tower layer every call passes: request id, auth, admission
//! - `audit`    the audit log of writes and refusals
//! - `metrics`  Prometheus metrics names, recorder and admin listener

pub mod api;
pub mod article;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod client;
pub mod config;
pub mod convert;
pub mod document;
pub mod error;
pub mod gate;
pub mod input_files;
pub mod metrics;
pub mod proto;
pub mod query;
pub mod server;
pub mod store;
pub mod synthetic;
pub mod watch;
pub mod wire;
