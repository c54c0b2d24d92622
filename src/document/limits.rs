//! The limits that keep hostile documents cheap to refuse: sizes checked
//! before parsing, and a deserializer that builds the front matter's YAML
//! value within a budget of nodes, text and depth.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};
use serde_norway::{Mapping, Value};

use super::Problem;
use super::split::Parts;

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

/// The cheap checks that bound the parser's time and memory.
pub(super) fn check_front_matter_size(parts: &Parts<'_>) -> Result<(), Problem> {
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

/// What a front matter has used so far of [`MAX_NODES`] and
/// [`MAX_EXPANDED_TEXT_BYTES`]. serde_norway expands an alias each time the
/// visitor reads it, so counting here stops an alias bomb before it
/// allocates.
#[derive(Default)]
pub(super) struct Budget {
    pub(super) nodes: Cell<usize>,
    pub(super) text_bytes: Cell<usize>,
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
pub(super) struct NodeSeed<'budget> {
    pub(super) budget: &'budget Budget,
    /// How many collections enclose this node.
    pub(super) depth: usize,
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
    use crate::document::parse;
    use crate::document::test_documents::error_message;

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
}
