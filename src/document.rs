//! The document format: YAML front matter between `---` lines, then a body.
//!
//! ```text
//! ---
//! title: "Japan should work with Aukus on cybersecurity and AI"
//! publishedDateTime: 2021-11-19T04:14:00Z
//! topics:
//!   - AI
//! ---
//! The body: everything after the closing line, byte for byte.
//! ```
//!
//! `parse` works in stages so each failure can say where it happened:
//! check the size, split off the `---` block (which fixes the line offset of
//! the front matter), parse the front matter to a `serde_norway::Value`
//! under the limits below (syntax errors carry a position), convert the
//! value to [`ArticleContent`](crate::article::ArticleContent) (type errors carry the field path; the line is
//! that of the offending top-level key) and finally check
//! [`ArticleContent::validate`](crate::article::ArticleContent::validate). Every
//! error is an [`Error::InvalidDocument`](crate::error::Error::InvalidDocument) reading `source:line: problem`, the line
//! 1-based within the whole document: where the YAML parser stopped, the
//! top-level key holding a badly typed or invalid field, or line 1 for the
//! document as a whole (too large, no delimiters, empty front matter, a
//! missing field).
//!
//! `render` writes `---\n`, the front matter as YAML (keys in the feed's
//! order, unknown keys last), `---\n` and the body. Parsing the result gives
//! back equal content, and its front matter is the same YAML value as the
//! original's (key order aside) with these normalisations: timestamps are
//! written in UTC with `Z` (fractional seconds only when present), aliases
//! are expanded, and a null or empty optional field is left out (the domain
//! cannot tell it from an absent one). This holds while the rendering stays
//! within the limits below, which only alias-heavy documents, or content
//! made elsewhere, can break.
//!
//! # Format details
//! - The first line must be exactly `---`; the front matter ends at the next
//!   line that is exactly `---`. A `---` line in the body is body text.
//! - Delimiter lines may end in `\n` or `\r\n`; the body is kept byte for
//!   byte, carriage returns included. `render` writes `\n`.
//! - A leading byte-order mark is skipped.
//! - The front matter must be a mapping with string keys. YAML tags
//!   (`!name`), duplicate keys, NaN and infinite numbers and integers beyond
//!   64 bits are errors. Merge keys (`<<`) are not applied: `<<` is an
//!   ordinary unknown key.
//!
//! # Limits
//! Checked before (or while) parsing, so hostile input fails fast and small:
//! - A document is at most 1 MiB ([`MAX_DOCUMENT_BYTES`]).
//! - Its front matter is at most 256 KiB ([`MAX_FRONT_MATTER_BYTES`]).
//! - The number of `[` and `{` characters in the front matter (quoted or
//!   not) times its size in bytes is at most 32 MiB
//!   ([`MAX_BRACKETS_TIMES_FRONT_MATTER_BYTES`]): 128 brackets in a 256 KiB
//!   front matter, 1,024 in 32 KiB, and no limit below 5.7 KiB. The YAML
//!   scanner's time grows with the nesting depth of flow collections
//!   (`[[[…`, `{a: {a: …`) times the number of tokens, and this bounds both.
//! - Collections nest at most 32 deep ([`MAX_NESTING_DEPTH`]).
//! - After expanding aliases the front matter has at most 100,000 nodes
//!   ([`MAX_NODES`]) and 512 KiB of keys and strings
//!   ([`MAX_EXPANDED_TEXT_BYTES`]); this stops "billion laughs" alias bombs.
//! - The parsed content must also pass
//!   [`ArticleContent::validate`](crate::article::ArticleContent::validate), which
//!   has its own limits (`article::limits`).
//!
//! serde_norway's own limits stay beneath these (nesting 128; alias
//! expansions at most 100 times the number of YAML events). Alone they do
//! not stop one large anchor used many times; the node and text limits do.
//!
//! # Files
//! - `split.rs`: the `---` lines, and the front matter and body between them.
//! - `limits.rs`: the limits above, the cheap checks before parsing and the
//!   bounded deserializer that builds the YAML value within them.
//! - `block_yaml.rs`: the fast reader of common front matter.
//! - `parse.rs`: the stages, from text to validated content.
//! - `position.rs`: errors placed on the document's lines.
//! - `render.rs`: content back to a document.

use serde_norway::Mapping;

mod block_yaml;
mod limits;
mod parse;
mod position;
mod render;
mod split;
#[cfg(test)]
mod test_documents;

pub use limits::{
    MAX_BRACKETS_TIMES_FRONT_MATTER_BYTES, MAX_DOCUMENT_BYTES, MAX_EXPANDED_TEXT_BYTES,
    MAX_FRONT_MATTER_BYTES, MAX_NESTING_DEPTH, MAX_NODES,
};
pub use parse::{parse, parse_with_serde_norway_only};
pub use render::render;

// The two values the stages pass between them live here, so the stage
// files depend on this module rather than on each other.

/// What went wrong and on which line of the document (1-based).
#[derive(Debug)]
struct Problem {
    line: usize,
    message: String,
}

impl Problem {
    fn new(line: usize, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
        }
    }
}

/// A front matter read into its top-level mapping, with what reading it
/// counted (as `Budget` counts: aliases expanded).
#[derive(Debug)]
struct FrontMatter {
    mapping: Mapping,
    nodes: usize,
    /// Bytes of keys and strings.
    text_bytes: usize,
}

impl FrontMatter {
    /// An upper bound on the length of `ArticleContent::front_matter_json`
    /// for content read from this front matter, so that checking the size
    /// limit need not serialize it. Everything in that JSON comes from a
    /// node: a byte of a key or string takes at most 6 once escaped
    /// (`\u0000`), and a node at most 32 more for quotes, separators,
    /// brackets, a number, or a timestamp (whose own text, rewritten in
    /// UTC, is at least a third of its JSON).
    fn json_bound(&self) -> usize {
        self.text_bytes
            .saturating_mul(6)
            .saturating_add(self.nodes.saturating_mul(32))
    }
}
