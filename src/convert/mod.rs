//! Every conversion between the protobuf messages and the domain, both
//! ways, in one place outside the server's `api`, so the CLI client and
//! the server convert alike.
//!
//! - `from_proto`   messages → domain values: fallible, naming the offending field
//! - `requests`     request messages → the domain requests they ask for
//! - `lookup`       how requests name articles (ids, keys, URLs)
//! - `update_mask`  which fields an UpdateArticle request changes
//! - `page_token`   the opaque page and resume tokens ⇄ keyset cursors
//! - `to_proto`     domain values → messages: cannot fail

pub mod from_proto;
pub mod lookup;
pub mod page_token;
pub mod requests;
pub mod to_proto;
pub mod update_mask;
