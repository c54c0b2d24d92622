//! `parse`, in stages: check the size, split, read the front matter within
//! the limits, convert it to content, validate.

use serde::Deserialize;
use serde::de::DeserializeSeed;
use serde_norway::{Mapping, Value};

use crate::article::ArticleContent;
use crate::error::Error;

use super::limits::{Budget, MAX_DOCUMENT_BYTES, NodeSeed, check_front_matter_size};
use super::position::{describe_violations, key_line, top_level_field, yaml_problem};
use super::split::{Parts, split};
use super::{FrontMatter, Problem, block_yaml};

/// Parses a document; `source` names it (file name/path) in every error.
pub fn parse(source: &str, text: &str) -> Result<ArticleContent, Error> {
    parse_with(source, text, parse_front_matter)
}

/// `parse` with every front matter read by serde_norway, never by the fast
/// reader (`block_yaml`): the reference `parse` is held to, result and
/// error alike (the `document_parse` fuzz target checks that they agree).
/// Slower; callers want `parse`.
pub fn parse_with_serde_norway_only(source: &str, text: &str) -> Result<ArticleContent, Error> {
    parse_with(source, text, parse_front_matter_with_libyaml)
}

/// `parse`, reading the front matter with `read_front_matter`.
fn parse_with(
    source: &str,
    text: &str,
    read_front_matter: impl FnOnce(&Parts<'_>) -> Result<FrontMatter, Problem>,
) -> Result<ArticleContent, Error> {
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
    let front_matter = read_front_matter(&parts).map_err(located)?;
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
pub(super) fn parse_front_matter_with_libyaml(parts: &Parts<'_>) -> Result<FrontMatter, Problem> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::render;
    use crate::document::test_documents::{error_message, sample};

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
    fn every_prefix_of_a_document_is_handled_without_panicking() {
        let document = sample("57");
        for (end, _) in document.char_indices() {
            let _ = parse("x.md", &document[..end]);
        }
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
}
