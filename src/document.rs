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
//! value to [`ArticleContent`] (type errors carry the field path; the line is
//! that of the offending top-level key) and finally check
//! [`ArticleContent::validate`]. Every error is an
//! [`Error::InvalidDocument`] reading `source:line: problem`, the line
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
//! - The parsed content must also pass [`ArticleContent::validate`], which
//!   has its own limits (`article::limits`).
//!
//! serde_norway's own limits stay beneath these (nesting 128; alias
//! expansions at most 100 times the number of YAML events). Alone they do
//! not stop one large anchor used many times; the node and text limits do.

use std::cell::Cell;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};
use serde_norway::{Mapping, Value};

use crate::article::ArticleContent;
use crate::error::{Error, FieldViolation};

mod block_yaml;

/// Largest document accepted, in bytes (1 MiB), checked before any parsing.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// Largest front matter accepted, in bytes. The YAML parser holds every
/// event of the front matter at once, so this bounds its memory; the
/// largest front matter in the corpus is under 9 KiB.
pub const MAX_FRONT_MATTER_BYTES: usize = 256 * 1024;

/// Largest product of the number of `[` and `{` characters in a front
/// matter and its size in bytes. libyaml's scanner does work proportional
/// to the flow-collection nesting depth for every token, so deeply nested
/// `{a: {a: …` with many tokens takes quadratic time (seconds for 256 KiB).
/// Brackets are counted without regard to quoting, which makes the count a
/// cheap and certain bound on the depth, and bytes bound the tokens. The
/// corpus has at most one bracket per document.
pub const MAX_BRACKETS_TIMES_FRONT_MATTER_BYTES: usize = 128 * MAX_FRONT_MATTER_BYTES;

/// Deepest nesting of sequences and mappings in a front matter; the top
/// level mapping is depth 1 and the corpus reaches 6.
pub const MAX_NESTING_DEPTH: usize = 32;

/// Most YAML nodes (scalars, sequences, mappings and keys) in a front
/// matter, counting every expansion of an alias.
pub const MAX_NODES: usize = 100_000;

/// Most bytes of keys and string values in a front matter, counting every
/// expansion of an alias. Twice the front-matter limit, so only aliases can
/// reach it.
pub const MAX_EXPANDED_TEXT_BYTES: usize = 2 * MAX_FRONT_MATTER_BYTES;

/// The line that opens and closes the front matter.
const DELIMITER: &str = "---";

/// Parses a document; `source` names it (file name/path) in every error.
pub fn parse(source: &str, text: &str) -> Result<ArticleContent, Error> {
    let located = |problem: Problem| {
        Error::InvalidDocument(format!("{source}:{}: {}", problem.line, problem.message))
    };
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(located(Problem::new(
            1,
            format!(
                "the document is {} bytes, more than the limit of {MAX_DOCUMENT_BYTES}",
                text.len()
            ),
        )));
    }
    let parts = split(text).map_err(located)?;
    check_front_matter_size(&parts).map_err(located)?;
    let front_matter = parse_front_matter(&parts).map_err(located)?;
    let json_bound = front_matter.json_bound();
    let mapping = front_matter.mapping;
    let mut content = to_content(&parts, mapping).map_err(located)?;
    content.body = parts.body.to_string();
    match content.validate_with_front_matter_json_bound(json_bound) {
        Ok(()) => Ok(content),
        Err(Error::InvalidArgument(violations)) => Err(Error::InvalidDocument(
            describe_violations(source, &parts, &violations),
        )),
        Err(other) => Err(other),
    }
}

/// Renders content back to a document: `---\n` + YAML front matter + `---\n`
/// + body.
pub fn render(content: &ArticleContent) -> String {
    // Serialising cannot fail: every map key is a string and the content
    // holds no bytes and no enums, the only things serde_norway refuses.
    let front_matter = serde_norway::to_string(content).unwrap_or_default();
    let mut document =
        String::with_capacity(2 * (DELIMITER.len() + 1) + front_matter.len() + content.body.len());
    document.push_str(DELIMITER);
    document.push('\n');
    document.push_str(&front_matter);
    document.push_str(DELIMITER);
    document.push('\n');
    document.push_str(&content.body);
    document
}

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

/// A document cut at its delimiter lines.
#[derive(Debug, PartialEq)]
struct Parts<'a> {
    /// The text between the delimiter lines.
    front_matter: &'a str,
    /// The document line on which the front matter starts.
    front_matter_line: usize,
    /// Everything after the closing delimiter line.
    body: &'a str,
}

/// Splits the delimiter block off a document.
fn split(text: &str) -> Result<Parts<'_>, Problem> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (first_line, rest) = next_line(text);
    if first_line != DELIMITER {
        return Err(Problem::new(1, "missing the opening '---' line"));
    }
    let front_matter_start = text.len() - rest.len();
    // Only a line starting with `---` can close the front matter: find the
    // line starts with a fast search rather than reading every line.
    let line_starts = std::iter::once(front_matter_start).chain(
        rest.match_indices('\n')
            .map(|(offset, _)| front_matter_start + offset + 1),
    );
    for start in line_starts.filter(|&start| text[start..].starts_with(DELIMITER)) {
        let (line, after) = next_line(&text[start..]);
        if line == DELIMITER {
            return Ok(Parts {
                front_matter: &text[front_matter_start..start],
                front_matter_line: 2,
                body: after,
            });
        }
    }
    Err(Problem::new(
        1,
        "missing the closing '---' line of the front matter opened here",
    ))
}

/// The first line of `text` without its line ending, and the text after it.
fn next_line(text: &str) -> (&str, &str) {
    let (line, rest) = match text.find('\n') {
        Some(end) => (&text[..end], &text[end + 1..]),
        None => (text, ""),
    };
    (line.strip_suffix('\r').unwrap_or(line), rest)
}

/// The cheap checks that bound the parser's time and memory.
fn check_front_matter_size(parts: &Parts<'_>) -> Result<(), Problem> {
    let front_matter = parts.front_matter;
    if front_matter.len() > MAX_FRONT_MATTER_BYTES {
        return Err(Problem::new(
            parts.front_matter_line,
            format!(
                "the front matter is {} bytes, more than the limit of {MAX_FRONT_MATTER_BYTES}",
                front_matter.len()
            ),
        ));
    }
    let allowed_brackets = MAX_BRACKETS_TIMES_FRONT_MATTER_BYTES / front_matter.len().max(1);
    // Below 5.7 KiB more brackets are allowed than there are bytes.
    let excess_bracket = (allowed_brackets < front_matter.len())
        .then(|| {
            front_matter
                .bytes()
                .enumerate()
                .filter(|(_, byte)| matches!(byte, b'[' | b'{'))
                .nth(allowed_brackets)
        })
        .flatten();
    if let Some((offset, _)) = excess_bracket {
        let line = parts.front_matter_line + front_matter[..offset].matches('\n').count();
        return Err(Problem::new(
            line,
            format!(
                "more than {allowed_brackets} '[' and '{{' characters in a front matter of \
                 {} bytes (a bound on the nesting of flow collections)",
                front_matter.len()
            ),
        ));
    }
    Ok(())
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

/// Parses the front matter to a YAML mapping, within the limits. The
/// common shapes take `block_yaml`, which gives the same mapping faster;
/// the rest, and every error, come from serde_norway.
fn parse_front_matter(parts: &Parts<'_>) -> Result<FrontMatter, Problem> {
    match block_yaml::parse(parts.front_matter) {
        Some(front_matter) => Ok(front_matter),
        None => parse_front_matter_with_libyaml(parts),
    }
}

/// Parses the front matter with serde_norway (libyaml), within the limits.
fn parse_front_matter_with_libyaml(parts: &Parts<'_>) -> Result<FrontMatter, Problem> {
    let budget = Budget::default();
    let seed = NodeSeed {
        budget: &budget,
        depth: 0,
    };
    let value = seed
        .deserialize(serde_norway::Deserializer::from_str(parts.front_matter))
        .map_err(|error| yaml_problem(parts, &error))?;
    match value {
        Value::Mapping(mapping) => Ok(FrontMatter {
            mapping,
            nodes: budget.nodes.get(),
            text_bytes: budget.text_bytes.get(),
        }),
        Value::Null => Err(Problem::new(
            1,
            "the front matter is empty; it needs at least title and publishedDateTime",
        )),
        other => Err(Problem::new(
            1,
            format!(
                "the front matter must be a mapping of keys to values, not {}",
                describe_kind(&other)
            ),
        )),
    }
}

/// Converts the front matter to content, naming the field that does not fit.
fn to_content(parts: &Parts<'_>, mapping: Mapping) -> Result<ArticleContent, Problem> {
    let value = Value::Mapping(mapping);
    // Read from the borrowed value first: a third of the cost of reading
    // the owned one through serde_path_to_error, which only a failure then
    // takes, to name the field.
    if let Ok(content) = ArticleContent::deserialize(&value) {
        return Ok(content);
    }
    serde_path_to_error::deserialize::<_, ArticleContent>(value).map_err(|error| {
        let path = error.path().to_string();
        let line = top_level_field(&path)
            .and_then(|key| key_line(parts, key))
            .unwrap_or(1);
        let message = if path == "." {
            error.inner().to_string()
        } else {
            format!("{path}: {}", error.inner())
        };
        Problem::new(line, message)
    })
}

/// One message naming every validation failure with its line.
fn describe_violations(source: &str, parts: &Parts<'_>, violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|violation| {
            let line = top_level_field(&violation.field)
                .and_then(|key| key_line(parts, key))
                .unwrap_or(1);
            format!("{source}:{line}: {violation}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The top-level key a field path starts with (`provider` of
/// `provider.images[0].width`), if the path names one.
fn top_level_field(path: &str) -> Option<&str> {
    let end = path.find(['.', '[']).unwrap_or(path.len());
    Some(&path[..end]).filter(|key| !key.is_empty())
}

/// The document line of the top-level `key:` in the front matter. A key can
/// appear plain or quoted; the first match wins (duplicates are refused
/// earlier).
fn key_line(parts: &Parts<'_>, key: &str) -> Option<usize> {
    parts
        .front_matter
        .split('\n')
        .position(|line| {
            let unquoted =
                [("", ""), ("\"", "\""), ("'", "'")]
                    .into_iter()
                    .find_map(|(open, close)| {
                        line.strip_prefix(open)?
                            .strip_prefix(key)?
                            .strip_prefix(close)
                    });
            unquoted.is_some_and(|after| after.trim_start_matches([' ', '\t']).starts_with(':'))
        })
        .map(|index| parts.front_matter_line + index)
}

/// A YAML error as a problem on a document line. serde_norway writes
/// positions relative to the front matter: `at line 3 column 5`, or for
/// errors of libyaml's reader (a control character, say) `at position 38`,
/// a byte offset. The main position becomes the problem's line and leaves
/// the message; any other is shifted to count from the start of the
/// document.
fn yaml_problem(parts: &Parts<'_>, error: &serde_norway::Error) -> Problem {
    let line_offset = parts.front_matter_line - 1;
    let main_position = error
        .location()
        .map(|location| (location.line(), location.column()));
    let (message, byte_offset) = relocate_positions(&error.to_string(), line_offset, main_position);
    let message = match message.strip_suffix("repetition limit exceeded") {
        Some(prefix) => format!("{prefix}aliases expand to too much (repetition limit exceeded)"),
        None => message,
    };
    let line = match (byte_offset, main_position) {
        (Some(offset), _) => {
            let before = &parts.front_matter.as_bytes()[..offset.min(parts.front_matter.len())];
            parts.front_matter_line + before.iter().filter(|byte| **byte == b'\n').count()
        }
        (None, Some((line, _column))) => line + line_offset,
        (None, None) => 1,
    };
    Problem::new(line, message)
}

/// Rewrites the positions in a serde_norway message: drops the ` at line L
/// column C` equal to `main_position`, adds `line_offset` to the others, and
/// drops ` at position N`, returning the first such N.
fn relocate_positions(
    message: &str,
    line_offset: usize,
    main_position: Option<(usize, usize)>,
) -> (String, Option<usize>) {
    let mut output = String::with_capacity(message.len());
    let mut rest = message;
    let mut main_dropped = false;
    let mut byte_offset = None;
    while !rest.is_empty() {
        if let Some((line, column, after)) = parse_line_column(rest) {
            if !main_dropped && main_position == Some((line, column)) {
                main_dropped = true;
            } else {
                output.push_str(&format!(" at line {} column {column}", line + line_offset));
            }
            rest = after;
            continue;
        }
        if let Some((offset, after)) = rest.strip_prefix(" at position ").and_then(leading_number) {
            byte_offset = byte_offset.or(Some(offset));
            rest = after;
            continue;
        }
        let mut characters = rest.chars();
        if let Some(character) = characters.next() {
            output.push(character);
        }
        rest = characters.as_str();
    }
    (output, byte_offset)
}

/// Reads ` at line L column C` from the start of `text`.
fn parse_line_column(text: &str) -> Option<(usize, usize, &str)> {
    let (line, after) = leading_number(text.strip_prefix(" at line ")?)?;
    let (column, after) = leading_number(after.strip_prefix(" column ")?)?;
    Some((line, column, after))
}

/// Reads a decimal number from the start of `text`.
fn leading_number(text: &str) -> Option<(usize, &str)> {
    let digits = text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let number = text[..digits].parse().ok()?;
    Some((number, &text[digits..]))
}

/// A value's kind, for messages.
fn describe_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a sequence",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// What a front matter has used so far of [`MAX_NODES`] and
/// [`MAX_EXPANDED_TEXT_BYTES`]. serde_norway expands an alias each time the
/// visitor reads it, so counting here stops an alias bomb before it
/// allocates.
#[derive(Default)]
struct Budget {
    nodes: Cell<usize>,
    text_bytes: Cell<usize>,
}

impl Budget {
    /// Accounts for one more node holding `text_bytes` of text.
    fn spend<E: de::Error>(&self, text_bytes: usize) -> Result<(), E> {
        let nodes = self.nodes.get() + 1;
        self.nodes.set(nodes);
        if nodes > MAX_NODES {
            return Err(E::custom(format!(
                "more than {MAX_NODES} YAML nodes, counting each use of an alias"
            )));
        }
        let text_bytes = self.text_bytes.get().saturating_add(text_bytes);
        self.text_bytes.set(text_bytes);
        if text_bytes > MAX_EXPANDED_TEXT_BYTES {
            return Err(E::custom(format!(
                "more than {MAX_EXPANDED_TEXT_BYTES} bytes of keys and strings, counting each \
                 use of an alias"
            )));
        }
        Ok(())
    }
}

/// Builds a `serde_norway::Value` like its own `Deserialize` does, but
/// within the budget and depth limit, refusing tags, non-string and
/// duplicate keys, non-finite floats and integers beyond 64 bits.
#[derive(Clone, Copy)]
struct NodeSeed<'budget> {
    budget: &'budget Budget,
    /// How many collections enclose this node.
    depth: usize,
}

impl<'budget> NodeSeed<'budget> {
    /// The seed for the children of a collection at this node.
    fn child<E: de::Error>(self) -> Result<Self, E> {
        let depth = self.depth + 1;
        if depth > MAX_NESTING_DEPTH {
            return Err(E::custom(format!(
                "collections nested deeper than {MAX_NESTING_DEPTH} levels"
            )));
        }
        self.budget.spend(0)?;
        Ok(Self { depth, ..self })
    }

    fn scalar<E: de::Error>(self, value: Value) -> Result<Value, E> {
        self.budget.spend(0)?;
        Ok(value)
    }
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a YAML value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
        self.scalar(Value::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
        self.scalar(Value::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
        self.scalar(Value::Number(value.into()))
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<Value, E> {
        Err(E::custom(format!(
            "the integer {value} does not fit in 64 bits"
        )))
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<Value, E> {
        Err(E::custom(format!(
            "the integer {value} does not fit in 64 bits"
        )))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        if !value.is_finite() {
            // The stores keep JSON, which has no NaN or infinity.
            return Err(E::custom(format!("the number {value} is not finite")));
        }
        self.scalar(Value::Number(value.into()))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        self.budget.spend(value.len())?;
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Value, E> {
        self.budget.spend(value.len())?;
        Ok(Value::String(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.scalar(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.scalar(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Value, A::Error> {
        let child = self.child()?;
        let mut items = Vec::new();
        while let Some(item) = sequence.next_element_seed(child)? {
            items.push(item);
        }
        Ok(Value::Sequence(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let child = self.child()?;
        let mut mapping = Mapping::new();
        loop {
            let key_seed = KeySeed {
                budget: child.budget,
                mapping: &mapping,
            };
            let Some(key) = map.next_key_seed(key_seed)? else {
                break;
            };
            let value = map.next_value_seed(child)?;
            mapping.insert(Value::String(key), value);
        }
        Ok(Value::Mapping(mapping))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, tagged: A) -> Result<Value, A::Error> {
        // serde_norway presents a `!tag`ged node as an enum named by its tag.
        let (tag, _content) = tagged.variant::<String>()?;
        Err(de::Error::custom(format!(
            "YAML tags are not supported (found !{tag})"
        )))
    }
}

/// Reads a mapping key: a string not already in `mapping`.
struct KeySeed<'a> {
    budget: &'a Budget,
    mapping: &'a Mapping,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = String;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string as mapping key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        self.visit_string(key.to_owned())
    }

    fn visit_string<E: de::Error>(self, key: String) -> Result<String, E> {
        if self.mapping.contains_key(key.as_str()) {
            return Err(E::custom(format!("duplicate key {key:?}")));
        }
        self.budget.spend(key.len())?;
        Ok(key)
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Err(E::custom("a mapping key must be a string, not null"))
    }

    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        self.visit_unit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A document whose line 7 is `quality: {quality}` and line 8 is
    /// `heat: 12`.
    fn sample(quality: &str) -> String {
        format!(
            "---\n\
             category: news\n\
             title: \"A title\"\n\
             excerpt: \"An excerpt\"\n\
             publishedDateTime: 2021-11-19T04:14:00Z\n\
             type: article\n\
             quality: {quality}\n\
             heat: 12\n\
             provider:\n  \
               name: The Guardian\n  \
               images:\n    \
                 - url: \"https://example.com/logo.jpg\"\n      \
                   width: 50\n\
             topics:\n  \
               - AI\n\
             ---\n\
             \n"
        )
    }

    fn error_message(result: Result<ArticleContent, Error>) -> String {
        match result {
            Ok(content) => panic!(
                "expected an error, parsed {}",
                format!("{content:?}").chars().take(300).collect::<String>()
            ),
            Err(Error::InvalidDocument(message)) => message,
            Err(other) => panic!("expected InvalidDocument, got {other:?}"),
        }
    }

    #[test]
    fn sample_parses() {
        let content = parse("x.md", &sample("57")).expect("sample parses");
        assert_eq!(content.title, "A title");
        assert_eq!(content.quality, Some(57));
        assert_eq!(content.body, "\n");
        assert_eq!(
            content.published_date_time.to_rfc3339(),
            "2021-11-19T04:14:00+00:00"
        );
    }

    #[test]
    fn malformed_documents_name_source_line_and_problem() {
        let minimal = "title: t\npublishedDateTime: 2021-01-01T00:00:00Z\n";
        let with = |front_matter: &str| format!("---\n{front_matter}---\n");
        let cases: Vec<(&str, String, &str)> = vec![
            (
                "empty text",
                String::new(),
                "x.md:1: missing the opening '---' line",
            ),
            (
                "no opening delimiter",
                minimal.to_string(),
                "x.md:1: missing the opening '---' line",
            ),
            (
                "opening delimiter with trailing text",
                format!("--- x\n{minimal}---\n"),
                "x.md:1: missing the opening '---' line",
            ),
            (
                "no closing delimiter",
                format!("---\n{minimal}"),
                "x.md:1: missing the closing '---' line",
            ),
            (
                "indented closing delimiter",
                format!("---\n{minimal} ---\n"),
                "x.md:1: missing the closing '---' line",
            ),
            (
                "empty front matter",
                with(""),
                "x.md:1: the front matter is empty",
            ),
            (
                "only a comment",
                with("# nothing here\n"),
                "x.md:1: the front matter is empty",
            ),
            (
                "a sequence",
                with("- title\n"),
                "x.md:1: the front matter must be a mapping of keys to values, not a sequence",
            ),
            (
                "a scalar",
                with("just text\n"),
                "x.md:1: the front matter must be a mapping of keys to values, not a string",
            ),
            (
                "bad type, with the line of its key",
                sample("abc"),
                "x.md:7: quality: invalid type: string \"abc\", expected i32",
            ),
            (
                "integer out of range",
                sample("99999999999"),
                "x.md:7: quality: invalid value: integer `99999999999`, expected i32",
            ),
            (
                "bad nested type names the path and the top-level key's line",
                sample("1").replace("width: 50", "width: wide"),
                "x.md:9: provider.images[0].width: invalid type: string \"wide\", expected i32",
            ),
            (
                "missing title",
                with("publishedDateTime: 2021-01-01T00:00:00Z\n"),
                "x.md:1: missing field `title`",
            ),
            (
                "missing publishedDateTime",
                with("title: t\n"),
                "x.md:1: missing field `publishedDateTime`",
            ),
            (
                "bad timestamp",
                with("title: t\npublishedDateTime: yesterday\n"),
                "x.md:3: publishedDateTime: input contains invalid characters",
            ),
            (
                "quoted key found for its line",
                with("\"title\": [1]\npublishedDateTime: 2021-01-01T00:00:00Z\n"),
                "x.md:2: title: invalid type: sequence, expected a string",
            ),
            (
                "syntax error at its document line",
                with(&format!("{minimal}topics: [AI\nheat: 1\n")),
                "x.md:5: did not find expected ',' or ']', while parsing a flow sequence at \
                 line 4 column 9",
            ),
            (
                "bad indentation",
                with("title: t\n  heat: 1\n"),
                "x.md:3: mapping values are not allowed in this context",
            ),
            (
                "duplicate key on the line of its second use",
                with(&format!("{minimal}title: again\n")),
                "x.md:4: duplicate key \"title\"",
            ),
            (
                "integer key",
                with(&format!("{minimal}1: one\n")),
                "x.md:4: invalid type: integer `1`, expected a string as mapping key",
            ),
            (
                "null key",
                with(&format!("{minimal}? \n: x\n")),
                "x.md:4: a mapping key must be a string, not null",
            ),
            (
                "sequence key",
                with(&format!("{minimal}? [a]\n: x\n")),
                "x.md:4: invalid type: sequence, expected a string as mapping key",
            ),
            (
                "tag",
                with(&format!("{minimal}provider: !org\n  name: x\n")),
                "x.md:4: provider: YAML tags are not supported (found !org)",
            ),
            (
                "nested tag",
                with(&format!("{minimal}topics:\n  - !local x\n")),
                "x.md:5: topics[0]: YAML tags are not supported (found !local)",
            ),
            (
                "unknown anchor",
                with(&format!("{minimal}heat: *nothing\n")),
                "x.md:4: unknown anchor",
            ),
            (
                "second YAML document",
                with(&format!("{minimal}...\n{minimal}")),
                "more than one document",
            ),
            (
                "not a number",
                with(&format!("{minimal}score: .nan\n")),
                "x.md:4: score: the number NaN is not finite",
            ),
            (
                "integer beyond 64 bits",
                with(&format!("{minimal}big: 123456789012345678901234567890\n")),
                "x.md:4: big: the integer 123456789012345678901234567890 does not fit in 64 bits",
            ),
            (
                "control character",
                with(&format!("{minimal}note: \"a\u{1}b\"\n")),
                "x.md:4: control characters are not allowed",
            ),
            (
                "validation failure with its line",
                with("title: \" \"\npublishedDateTime: 2021-01-01T00:00:00Z\n"),
                "x.md:2: title: must not be empty",
            ),
            (
                "every validation failure",
                with(&format!(
                    "title: \" \"\npublishedDateTime: 2021-01-01T00:00:00Z\ntopics: {}\n",
                    serde_json::to_string(&vec!["t"; 101]).expect("json")
                )),
                "x.md:2: title: must not be empty; x.md:4: topics: more than 100 topics",
            ),
        ];
        for (name, document, expected) in cases {
            let message = error_message(parse("x.md", &document));
            assert!(
                message.starts_with("x.md:") && message.contains(expected),
                "{name}: expected {expected:?} in {message:?}"
            );
        }
    }

    #[test]
    fn valid_documents_parse() {
        let minimal = "title: t\npublishedDateTime: 2021-01-01T00:00:00Z\n";
        type Check = fn(&ArticleContent);
        let cases: Vec<(&str, String, Check)> = vec![
            (
                "closing delimiter at the end of the text",
                format!("---\n{minimal}---"),
                |content| assert_eq!(content.body, ""),
            ),
            (
                "body kept byte for byte, with --- lines and CRLF",
                format!("---\n{minimal}---\nfirst\r\n---\n\n  --- \r\nlast"),
                |content| assert_eq!(content.body, "first\r\n---\n\n  --- \r\nlast"),
            ),
            (
                "CRLF delimiters and front matter",
                format!("---\r\n{}---\r\nbody\r\n", minimal.replace('\n', "\r\n")),
                |content| {
                    assert_eq!(content.title, "t");
                    assert_eq!(content.body, "body\r\n");
                },
            ),
            (
                "byte-order mark",
                format!("\u{feff}---\n{minimal}---\n"),
                |content| assert_eq!(content.title, "t"),
            ),
            (
                "unicode",
                format!(
                    "---\n{minimal}excerpt: \"Ünïcödé — 日本語 🚀\"\ntopics: [Ελληνικά]\n---\n\
                     Body — 🚀\n"
                ),
                |content| {
                    assert_eq!(content.excerpt.as_deref(), Some("Ünïcödé — 日本語 🚀"));
                    assert_eq!(content.topics, ["Ελληνικά"]);
                    assert_eq!(content.body, "Body — 🚀\n");
                },
            ),
            (
                "unknown keys kept at every level",
                format!(
                    "---\n{minimal}\
                     provider:\n  name: p\n  founded: 1851\n  images:\n    - url: u\n      \
                     credit: c\n\
                     images:\n  - url: i\n    caption: {{lang: en}}\n\
                     related:\n  - title: r\n    score: 0.5\n    provider:\n      rank: 3\n\
                     custom:\n  nested: [1, two, null]\n\
                     empty:\n---\n"
                ),
                |content| {
                    let json = |text: &str| -> serde_json::Value {
                        serde_json::from_str(text).expect("test json")
                    };
                    assert_eq!(
                        content.extra["custom"],
                        json(r#"{"nested":[1,"two",null]}"#)
                    );
                    assert_eq!(content.extra["empty"], serde_json::Value::Null);
                    let provider = content.provider.as_ref().expect("provider");
                    assert_eq!(provider.extra["founded"], json("1851"));
                    assert_eq!(provider.images[0].extra["credit"], json(r#""c""#));
                    assert_eq!(content.images[0].extra["caption"], json(r#"{"lang":"en"}"#));
                    assert_eq!(content.related[0].extra["score"], json("0.5"));
                    let related_provider = content.related[0].provider.as_ref().expect("provider");
                    assert_eq!(related_provider.extra["rank"], json("3"));
                },
            ),
            (
                "many brackets in a small front matter",
                format!("---\n{minimal}excerpt: \"{}\"\n---\n", "[x] ".repeat(1_000)),
                |content| assert_eq!(content.excerpt.as_ref().map(String::len), Some(4_000)),
            ),
            (
                "a front-matter key named body is an unknown key",
                format!("---\n{minimal}body: not the body\n---\nthe body"),
                |content| {
                    assert_eq!(content.extra["body"], "not the body");
                    assert_eq!(content.body, "the body");
                },
            ),
            (
                "standard tags are resolved by the YAML library",
                format!("---\n{minimal}excerpt: !!str 2021\n---\n"),
                |content| assert_eq!(content.excerpt.as_deref(), Some("2021")),
            ),
            (
                "aliases are expanded",
                format!("---\n{minimal}excerpt: &text shared\ncategory: *text\n---\n"),
                |content| assert_eq!(content.category.as_deref(), Some("shared")),
            ),
            (
                "offset timestamps are converted to UTC",
                "---\ntitle: t\npublishedDateTime: 2021-05-26T22:41:39-07:00\n---\n".to_string(),
                |content| {
                    assert_eq!(
                        content.published_date_time.to_rfc3339(),
                        "2021-05-27T05:41:39+00:00"
                    )
                },
            ),
        ];
        for (name, document, check) in cases {
            let content = parse("x.md", &document)
                .unwrap_or_else(|error| panic!("{name}: does not parse: {error}"));
            check(&content);
            let again = parse("rendered", &render(&content))
                .unwrap_or_else(|error| panic!("{name}: rendering does not parse: {error}"));
            assert_eq!(again, content, "{name}: parse(render(x)) != x");
        }
    }

    #[test]
    fn render_writes_the_feed_form() {
        let mut content = parse("x.md", &sample("57")).expect("sample parses");
        content.body = "Body\n---\nmore".to_string();
        // In name order: `Extra` keeps insertion order only with
        // serde_json's `preserve_order` feature.
        content.extra.insert("alpha".into(), serde_json::json!("a"));
        content.extra.insert("zebra".into(), serde_json::json!(1));
        let document = render(&content);
        assert!(
            document.starts_with("---\ncategory: news\ntitle: A title\n"),
            "{document}"
        );
        assert!(
            document.contains("\npublishedDateTime: 2021-11-19T04:14:00Z\n"),
            "{document}"
        );
        assert!(document.ends_with("\n---\nBody\n---\nmore"), "{document}");
        let keys: Vec<&str> = document
            .lines()
            .skip(1)
            .take_while(|line| *line != "---")
            .filter(|line| !line.starts_with([' ', '-']))
            .filter_map(|line| line.split_once(':').map(|(key, _)| key))
            .collect();
        assert_eq!(
            keys,
            [
                "category",
                "title",
                "excerpt",
                "publishedDateTime",
                "type",
                "quality",
                "heat",
                "provider",
                "topics",
                "alpha",
                "zebra"
            ]
        );
        assert_eq!(parse("rendered", &document).expect("parses"), content);
    }

    #[test]
    fn render_keeps_fractional_seconds_only_when_present() {
        for (written, rendered) in [
            ("2021-11-19T04:14:00Z", "2021-11-19T04:14:00Z"),
            ("2021-11-19T04:14:00.250Z", "2021-11-19T04:14:00.250Z"),
            ("2021-11-19T06:14:00+02:00", "2021-11-19T04:14:00Z"),
        ] {
            let document = format!("---\ntitle: t\npublishedDateTime: {written}\n---\n");
            let content = parse("x.md", &document).expect("parses");
            let expected = format!("\npublishedDateTime: {rendered}\n");
            assert!(render(&content).contains(&expected), "{written}");
        }
    }

    #[test]
    fn a_title_that_looks_like_a_delimiter_stays_in_the_front_matter() {
        let document =
            "---\ntitle: \"a\\n---\\nb\"\npublishedDateTime: 2021-01-01T00:00:00Z\n---\n";
        let content = parse("x.md", document).expect("parses");
        assert_eq!(content.title, "a\n---\nb");
        assert_eq!(
            parse("rendered", &render(&content)).expect("parses"),
            content
        );
    }

    /// Documents built to be expensive; each must be refused with the
    /// limit's message (they also finish fast, which the module doc
    /// records).
    #[test]
    fn hostile_documents_are_refused() {
        let head = "title: t\npublishedDateTime: 2021-01-01T00:00:00Z\n";
        let with = |front_matter: &str| format!("---\n{head}{front_matter}---\n");
        let laughs = {
            let mut lines = String::from("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
            for level in 1..10 {
                let aliases = vec![format!("*l{}", level - 1); 9].join(", ");
                lines.push_str(&format!("l{level}: &l{level} [{aliases}]\n"));
            }
            lines
        };
        // Each alias expansion yields few nodes, so serde_norway's count of
        // expansions fires before the node limit.
        let empty_laughs = {
            let mut lines = String::from("l0: &l0 []\n");
            for level in 1..10 {
                let aliases = vec![format!("*l{}", level - 1); 9].join(", ");
                lines.push_str(&format!("l{level}: &l{level} [{aliases}]\n"));
            }
            lines
        };
        // Few jumps, so serde_norway's own repetition limit never fires, yet
        // 10,000 × 10,000 nodes once expanded.
        let wide_alias = format!(
            "anchor: &wide\n{}many:\n{}",
            "  - x\n".repeat(10_000),
            "  - *wide\n".repeat(10_000)
        );
        let long_text_alias = format!(
            "anchor: &long \"{}\"\nmany:\n{}",
            "x".repeat(100_000),
            "  - *long\n".repeat(100)
        );
        let deep_block = (0..200)
            .map(|depth| format!("{}k:\n", " ".repeat(depth)))
            .collect::<String>();
        let oversized = format!("{}{}", with(""), "b".repeat(MAX_DOCUMENT_BYTES));
        let huge_excerpt = format!("excerpt: {}\n", "e".repeat(MAX_FRONT_MATTER_BYTES));
        let deeper = format!("collections nested deeper than {MAX_NESTING_DEPTH} levels");
        let too_many_nodes =
            format!("more than {MAX_NODES} YAML nodes, counting each use of an alias");
        let too_many_brackets = |front_matter_bytes: usize| {
            format!(
                "x.md:4: more than {} '[' and '{{' characters in a front matter of \
                 {front_matter_bytes} bytes",
                MAX_BRACKETS_TIMES_FRONT_MATTER_BYTES / front_matter_bytes
            )
        };
        let deep_brackets = format!("deep: {}\n", "[".repeat(10_000));
        let quoted_brackets_and_padding = format!(
            "excerpt: \"{}\"\npadding: {}\n",
            "[x] ".repeat(500),
            "p".repeat(MAX_FRONT_MATTER_BYTES / 2)
        );
        // The scanner's worst case: as deep as the bracket rule allows for
        // a near-limit front matter, then a quarter of a megabyte of tokens.
        let filler_tokens = (MAX_FRONT_MATTER_BYTES - 1_000) / 3;
        let deep_flow_among_tokens = format!(
            "deep: {}{}\n",
            "{a: ".repeat(MAX_BRACKETS_TIMES_FRONT_MATTER_BYTES / MAX_FRONT_MATTER_BYTES - 1),
            "b, ".repeat(filler_tokens)
        );
        let cases: Vec<(&str, String, String)> = vec![
            (
                "over the document limit",
                oversized.clone(),
                format!(
                    "x.md:1: the document is {} bytes, more than the limit of {MAX_DOCUMENT_BYTES}",
                    oversized.len()
                ),
            ),
            (
                "huge scalar over the front matter limit",
                with(&huge_excerpt),
                format!(
                    "x.md:2: the front matter is {} bytes, more than the limit of \
                     {MAX_FRONT_MATTER_BYTES}",
                    head.len() + huge_excerpt.len()
                ),
            ),
            ("billion laughs", with(&laughs), too_many_nodes.clone()),
            (
                "billion laughs of empty lists, caught by serde_norway",
                with(&empty_laughs),
                "x.md:1: aliases expand to too much (repetition limit exceeded)".into(),
            ),
            (
                "one wide anchor used many times",
                with(&wide_alias),
                too_many_nodes.clone(),
            ),
            (
                "one long string used many times",
                with(&long_text_alias),
                format!(
                    "more than {MAX_EXPANDED_TEXT_BYTES} bytes of keys and strings, counting each \
                     use of an alias"
                ),
            ),
            (
                "10,000 nested [",
                with(&deep_brackets),
                too_many_brackets(head.len() + deep_brackets.len()),
            ),
            (
                "quoted brackets in a large front matter",
                with(&quoted_brackets_and_padding),
                too_many_brackets(head.len() + quoted_brackets_and_padding.len()),
            ),
            (
                "deep flow mappings, within the bracket limit, among many tokens",
                with(&deep_flow_among_tokens),
                deeper.clone(),
            ),
            (
                "a megabyte of [",
                format!("---\n{}\n---\n", "[".repeat(MAX_DOCUMENT_BYTES - 10)),
                "x.md:2: the front matter is".into(),
            ),
            (
                "nested flow mappings under the bracket limit",
                with(&format!("deep: {}\n", "{a: ".repeat(100))),
                deeper.clone(),
            ),
            (
                "nested block sequences",
                with(&format!("deep:\n{}x\n", "- ".repeat(1_000))),
                deeper.clone(),
            ),
            ("nested block mappings", with(&deep_block), deeper.clone()),
        ];
        for (name, document, expected) in cases {
            let message = error_message(parse("x.md", &document));
            assert!(
                message.contains(&expected),
                "{name}: expected {expected:?} in {:?}",
                message.chars().take(300).collect::<String>()
            );
        }
    }

    #[test]
    fn a_large_scalar_within_the_limits_is_accepted() {
        let excerpt = "e".repeat(MAX_FRONT_MATTER_BYTES - 1_000);
        let document = format!(
            "---\ntitle: t\npublishedDateTime: 2021-01-01T00:00:00Z\nexcerpt: {excerpt}\n---\n"
        );
        let content = parse("x.md", &document).expect("parses");
        assert_eq!(content.excerpt.as_deref(), Some(excerpt.as_str()));
    }

    #[test]
    fn every_prefix_of_a_document_is_handled_without_panicking() {
        let document = sample("57");
        for (end, _) in document.char_indices() {
            let _ = parse("x.md", &document[..end]);
        }
    }

    #[test]
    fn positions_are_relocated() {
        let message = "did not find expected key at line 3 column 1, while parsing a block \
                       mapping at line 1 column 1";
        assert_eq!(
            relocate_positions(message, 1, Some((3, 1))),
            (
                "did not find expected key, while parsing a block mapping at line 2 column 1"
                    .to_string(),
                None
            )
        );
        assert_eq!(
            relocate_positions("bad at position 12", 1, None),
            ("bad".to_string(), Some(12))
        );
    }

    /// The bound that spares `parse` serializing the JSON for the size
    /// check holds where JSON is longest next to its YAML: escaped control
    /// characters, nulls and numbers under short keys, empty collections,
    /// timestamps.
    #[test]
    fn the_json_bound_covers_the_json() {
        let head = "title: t\npublishedDateTime: 2021-01-01T00:00:00.123456789+01:00\n";
        let front_matters = [
            format!("{head}excerpt: \"{}\"\n", "\\0".repeat(500)),
            format!(
                "{head}{}",
                (0..300).map(|n| format!("k{n}:\n")).collect::<String>()
            ),
            format!(
                "{head}{}",
                (0..300)
                    .map(|n| format!("f{n}: -1.5e300\n"))
                    .collect::<String>()
            ),
            format!(
                "{head}{}",
                (0..300)
                    .map(|n| format!("i{n}: -9223372036854775808\n"))
                    .collect::<String>()
            ),
            format!(
                "{head}lists: {}\n",
                "[[], {}, ".repeat(30) + &"]".repeat(30)
            ),
            format!("{head}topics: [{}]\n", vec!["a"; 90].join(", ")),
            format!(
                "{head}related:\n{}",
                "  - publishedDateTime: 2021-01-01T00:00:00Z\n".repeat(90)
            ),
            sample("57")
                .trim_start_matches("---\n")
                .replace("---\n\n", ""),
        ];
        for front_matter in front_matters {
            let document = format!("---\n{front_matter}---\nbody\n");
            let parts = split(&document).expect("splits");
            let bound = parse_front_matter(&parts).expect("parses").json_bound();
            let content = parse("x.md", &document).expect("valid");
            let json = content.front_matter_json().len();
            assert!(
                json <= bound,
                "JSON of {json} bytes over the bound {bound} for {front_matter:?}"
            );
        }
    }

    #[test]
    fn split_cuts_at_the_first_delimiter_line() {
        let parts = split("---\na: 1\n---\nbody\n---\n").expect("splits");
        assert_eq!(
            parts,
            Parts {
                front_matter: "a: 1\n",
                front_matter_line: 2,
                body: "body\n---\n",
            }
        );
    }
}
