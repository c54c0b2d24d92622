//! Shared test support: each integration test crate does `mod support;`.
//! Not every crate uses every helper, hence the dead-code allowance.
#![allow(dead_code)]

pub mod cluster;
pub mod corpus;
pub mod encoding;
pub mod history;
pub mod pki;
pub mod postgres;
pub mod process;
pub mod raw_call;
pub mod secure_server;
pub mod server;
pub mod status;
pub mod watch;
