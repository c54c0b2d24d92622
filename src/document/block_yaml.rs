//! A fast reader for the YAML that front matter almost always is: block
//! mappings and block sequences of one-line scalars.
//!
//! libyaml, under serde_norway, reads a typical 1.5 KiB front matter in about
//! 30 µs, a character at a time; this reads the same in a few. It builds
//! exactly the `Value` that `NodeSeed` builds from serde_norway, resolving
//! plain scalars by serde_norway's rules, and counts nodes, text and depth as
//! `Budget` and `NodeSeed` do. Anything else it declines (`None`), and the
//! caller parses with serde_norway as before, so which reader ran never
//! changes a result or an error: this one never reports an error at all.
//!
//! What it reads, and declines everything else:
//! - Printable characters only: no tab, carriage return, byte-order mark,
//!   control character, or the characters libyaml takes as line breaks
//!   (U+0085, U+2028, U+2029).
//! - A block mapping at column 0 of `key: value` lines, keys being plain
//!   words (`[A-Za-z_][A-Za-z0-9_.-]*`, at most 128 bytes, no null or
//!   boolean spelling), each used once.
//! - A key with nothing after it takes the more indented block below it (a
//!   mapping, or a sequence, which may also sit at the key's own
//!   indentation), or else is null.
//! - Sequence entries `- value` and `- key: value` (a mapping whose further
//!   keys line up under the first).
//! - Scalars on one line: double-quoted with the single-character,
//!   `\x`, `\u` and `\U` escapes, single-quoted, or plain: starting with a
//!   letter, a digit, `_`, `/`, `(`, `<`, `$`, a non-ASCII character or `-`
//!   and digits, and holding neither `: ` nor ` #` nor a final `:`. Plain
//!   scalars that would be floats (or other numbers than decimal integers)
//!   are declined.
//! - No comments, anchors, aliases, tags, flow collections, block scalars,
//!   directives or document markers.

use serde_norway::{Mapping, Value};

use super::FrontMatter;
use super::limits::{MAX_EXPANDED_TEXT_BYTES, MAX_NESTING_DEPTH, MAX_NODES};

/// Longest key read here; libyaml refuses implicit keys over 1,024.
const MAX_KEY_BYTES: usize = 128;

/// Reads `front_matter` into its top-level mapping, or declines.
pub(super) fn parse(front_matter: &str) -> Option<FrontMatter> {
    if !only_printable(front_matter.as_bytes()) {
        return None;
    }
    let lines = content_lines(front_matter)?;
    if lines.first()?.indent != 0 {
        return None;
    }
    let mut reader = Reader {
        lines,
        position: 0,
        nodes: 0,
        text_bytes: 0,
    };
    let value = reader.mapping(0, 1)?;
    if reader.position != reader.lines.len()
        || reader.nodes > MAX_NODES
        || reader.text_bytes > MAX_EXPANDED_TEXT_BYTES
    {
        return None;
    }
    match value {
        Value::Mapping(mapping) => Some(FrontMatter {
            mapping,
            nodes: reader.nodes,
            text_bytes: reader.text_bytes,
        }),
        _ => None,
    }
}

/// Whether `bytes` (valid UTF-8) holds only characters this reader passes
/// through unchanged: line feeds, printable ASCII, and non-ASCII characters
/// other than C1 controls (U+0085 among them), U+2028, U+2029, U+FEFF,
/// U+FFFE and U+FFFF.
fn only_printable(bytes: &[u8]) -> bool {
    let mut index = 0;
    while index < bytes.len() {
        // Runs of printable ASCII, the bulk of any front matter, a chunk
        // at a time (a fold without early exit, which vectorizes).
        while let Some(chunk) = bytes.get(index..index + 32) {
            let outside = chunk.iter().fold(false, |outside, &byte| {
                outside | ((byte < b' ' && byte != b'\n') || byte > b'~')
            });
            if outside {
                break;
            }
            index += 32;
        }
        let Some(&byte) = bytes.get(index) else {
            break;
        };
        let next = bytes.get(index + 1).copied();
        let after_next = bytes.get(index + 2).copied();
        let refused = match byte {
            b'\n' | b' '..=b'~' => false,
            // U+0080 to U+009F.
            0xC2 => matches!(next, Some(0x80..=0x9F)),
            // U+2028 and U+2029.
            0xE2 => next == Some(0x80) && matches!(after_next, Some(0xA8 | 0xA9)),
            // U+FEFF, U+FFFE and U+FFFF.
            0xEF => matches!(
                (next, after_next),
                (Some(0xBB), Some(0xBF)) | (Some(0xBF), Some(0xBE | 0xBF))
            ),
            0x80.. => false,
            _ => true,
        };
        if refused {
            return false;
        }
        index += 1;
    }
    true
}

/// A line that holds something.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    /// Leading spaces.
    indent: usize,
    /// The rest of the line.
    text: &'a str,
}

/// The non-blank lines of `front_matter`; `None` at a comment, directive or
/// document marker.
fn content_lines(front_matter: &str) -> Option<Vec<Line<'_>>> {
    let mut lines = Vec::with_capacity(64);
    let mut rest = front_matter;
    while !rest.is_empty() {
        let end = rest.find('\n').unwrap_or(rest.len());
        let line = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or_default();
        if line.starts_with("---") || line.starts_with("...") {
            return None;
        }
        let text = line.trim_start_matches(' ');
        if text.trim_end_matches(' ').is_empty() {
            continue;
        }
        if text.starts_with('#') {
            return None;
        }
        lines.push(Line {
            indent: line.len() - text.len(),
            text,
        });
    }
    Some(lines)
}

/// Where the ASCII `byte` first occurs in `text` (a character boundary).
fn position_of(text: &str, byte: u8) -> Option<usize> {
    text.bytes().position(|candidate| candidate == byte)
}

/// Reads lines into values, counting as `NodeSeed` counts.
struct Reader<'a> {
    lines: Vec<Line<'a>>,
    position: usize,
    /// Nodes read: collections, keys and scalars.
    nodes: usize,
    /// Bytes of keys and strings read.
    text_bytes: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<Line<'a>> {
        self.lines.get(self.position).copied()
    }

    /// Counts a collection at `depth` (the top-level mapping is 1).
    fn enter(&mut self, depth: usize) -> Option<()> {
        self.nodes += 1;
        (depth <= MAX_NESTING_DEPTH).then_some(())
    }

    /// The block mapping whose keys are at `indent`, starting at the current
    /// line.
    fn mapping(&mut self, indent: usize, depth: usize) -> Option<Value> {
        self.enter(depth)?;
        let mut mapping = Mapping::new();
        while let Some(line) = self.peek() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent || is_sequence_entry(line.text) {
                return None;
            }
            let (key, after_colon) = split_key(line.text)?;
            self.position += 1;
            let inline = after_colon.trim_matches(' ');
            let value = if inline.is_empty() {
                self.block_value(indent, depth)?
            } else {
                self.scalar(inline)?
            };
            self.nodes += 1;
            self.text_bytes += key.len();
            if mapping
                .insert(Value::String(key.to_owned()), value)
                .is_some()
            {
                // A duplicate key, which libyaml's reader refuses.
                return None;
            }
        }
        Some(Value::Mapping(mapping))
    }

    /// The value of a key at `indent` with nothing after its colon.
    fn block_value(&mut self, indent: usize, depth: usize) -> Option<Value> {
        match self.peek() {
            Some(next) if next.indent > indent && is_sequence_entry(next.text) => {
                self.sequence(next.indent, depth + 1)
            }
            Some(next) if next.indent > indent => self.mapping(next.indent, depth + 1),
            Some(next) if next.indent == indent && is_sequence_entry(next.text) => {
                self.sequence(indent, depth + 1)
            }
            _ => {
                self.nodes += 1;
                Some(Value::Null)
            }
        }
    }

    /// The block sequence whose `-` are at `indent`, starting at the
    /// current line.
    fn sequence(&mut self, indent: usize, depth: usize) -> Option<Value> {
        self.enter(depth)?;
        let mut items = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent < indent || (line.indent == indent && !is_sequence_entry(line.text)) {
                break;
            }
            if line.indent > indent {
                return None;
            }
            let after_dash = &line.text[1..];
            let entry = after_dash.trim_start_matches(' ');
            if entry.trim_end_matches(' ').is_empty() || is_sequence_entry(entry) {
                return None;
            }
            let item = if split_key(entry).is_some() {
                // `- key: value`: a mapping whose keys line up with this one.
                let column = indent + 1 + (after_dash.len() - entry.len());
                self.lines[self.position] = Line {
                    indent: column,
                    text: entry,
                };
                self.mapping(column, depth + 1)?
            } else {
                self.position += 1;
                self.scalar(entry.trim_end_matches(' '))?
            };
            items.push(item);
        }
        Some(Value::Sequence(items))
    }

    /// A one-line scalar, without surrounding spaces.
    fn scalar(&mut self, text: &str) -> Option<Value> {
        let value = match text.as_bytes().first()? {
            b'"' => Value::String(double_quoted(text)?),
            b'\'' => Value::String(single_quoted(text)?),
            _ => plain(text)?,
        };
        self.nodes += 1;
        if let Value::String(string) = &value {
            self.text_bytes += string.len();
        }
        Some(value)
    }
}

fn is_sequence_entry(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// Splits `key: rest` (or `key:`) at its colon, if `key` is a word this
/// reader accepts as a string key.
fn split_key(text: &str) -> Option<(&str, &str)> {
    let colon = position_of(text, b':')?;
    let (key, rest) = (&text[..colon], &text[colon + 1..]);
    if !(rest.is_empty() || rest.starts_with(' ')) || key.len() > MAX_KEY_BYTES {
        return None;
    }
    let mut bytes = key.bytes();
    let first = bytes.next()?;
    let word = (first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.'));
    (word && !is_null_or_bool(key)).then_some((key, rest))
}

/// serde_norway's spellings of null and of the booleans.
fn is_null_or_bool(text: &str) -> bool {
    matches!(
        text,
        "null" | "Null" | "NULL" | "~" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
    )
}

/// A plain scalar resolved as serde_norway resolves it for `NodeSeed`:
/// null, boolean, 64-bit integer, else string. Declines floats, other
/// integer forms and anything that may not be a plain scalar on its own.
fn plain(text: &str) -> Option<Value> {
    if ends_a_key(text) || starts_a_comment(text) {
        return None;
    }
    match text {
        "null" | "Null" | "NULL" | "~" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    let first = *text.as_bytes().first()?;
    if first == b'-' {
        // Only `-` and decimal digits: an i64, or with a leading zero a
        // string (YAML 1.2: `-01` is not a number).
        let digits = &text[1..];
        if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        if digits.len() > 1 && digits.starts_with('0') {
            return Some(Value::String(text.to_owned()));
        }
        // Beyond i64, serde_norway offers an i128, which `NodeSeed` refuses.
        return text
            .parse::<i64>()
            .ok()
            .map(|number| Value::Number(number.into()));
    }
    if first.is_ascii_digit() {
        if text.bytes().all(|byte| byte.is_ascii_digit()) {
            if text.len() > 1 && first == b'0' {
                return Some(Value::String(text.to_owned()));
            }
            return text
                .parse::<u64>()
                .ok()
                .map(|number| Value::Number(number.into()));
        }
        // `0x1F`, `0o17`, `0b1` are integers, `1.5` and `1e3` floats;
        // anything else starting with a digit (a date, a time) is a string.
        if text.starts_with("0x")
            || text.starts_with("0o")
            || text.starts_with("0b")
            || text.parse::<f64>().is_ok()
        {
            return None;
        }
        return Some(Value::String(text.to_owned()));
    }
    // A word cannot be an integer, and the words Rust reads as floats (`inf`,
    // `NaN`, `infinity`) are not finite, which serde_norway leaves strings.
    let plain_start = first.is_ascii_alphabetic()
        || matches!(first, b'_' | b'/' | b'(' | b'<' | b'$')
        || !first.is_ascii();
    plain_start.then(|| Value::String(text.to_owned()))
}

/// Whether a `:` in `text` is followed by a space or ends it.
fn ends_a_key(text: &str) -> bool {
    let mut rest = text;
    while let Some(colon) = rest.find(':') {
        rest = &rest[colon + 1..];
        if rest.is_empty() || rest.starts_with(' ') {
            return true;
        }
    }
    false
}

/// Whether a `#` in `text` follows a space.
fn starts_a_comment(text: &str) -> bool {
    let mut searched = 0;
    while let Some(offset) = text[searched..].find('#') {
        let hash = searched + offset;
        if text[..hash].ends_with(' ') {
            return true;
        }
        searched = hash + 1;
    }
    false
}

/// A double-quoted scalar that ends on its line with nothing after it.
fn double_quoted(text: &str) -> Option<String> {
    let mut value = String::with_capacity(text.len());
    let mut rest = &text[1..];
    loop {
        let quote = rest.find('"')?;
        let special = rest[..quote].find('\\').unwrap_or(quote);
        value.push_str(&rest[..special]);
        if special == quote {
            let after = &rest[quote + 1..];
            return after.bytes().all(|byte| byte == b' ').then_some(value);
        }
        let mut characters = rest[special + 1..].chars();
        let unescaped = match characters.next()? {
            '0' => '\0',
            'a' => '\u{7}',
            'b' => '\u{8}',
            't' => '\t',
            'n' => '\n',
            'v' => '\u{b}',
            'f' => '\u{c}',
            'r' => '\r',
            'e' => '\u{1b}',
            ' ' => ' ',
            '"' => '"',
            '/' => '/',
            '\\' => '\\',
            'x' => hex_escape(&mut characters, 2)?,
            'u' => hex_escape(&mut characters, 4)?,
            'U' => hex_escape(&mut characters, 8)?,
            _ => return None,
        };
        value.push(unescaped);
        rest = characters.as_str();
    }
}

/// The character of the next `digits` hexadecimal digits; `None` for a
/// surrogate or beyond U+10FFFF, which libyaml refuses.
fn hex_escape(characters: &mut std::str::Chars<'_>, digits: usize) -> Option<char> {
    let mut code = 0_u32;
    for _ in 0..digits {
        let digit = characters.next()?;
        code = code * 16 + digit.to_digit(16)?;
    }
    char::from_u32(code)
}

/// A single-quoted scalar that ends on its line with nothing after it.
fn single_quoted(text: &str) -> Option<String> {
    let mut value = String::with_capacity(text.len());
    let mut rest = &text[1..];
    loop {
        let quote = rest.find('\'')?;
        value.push_str(&rest[..quote]);
        rest = &rest[quote + 1..];
        match rest.strip_prefix('\'') {
            Some(after_pair) => {
                value.push('\'');
                rest = after_pair;
            }
            None => return rest.bytes().all(|byte| byte == b' ').then_some(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::parse::parse_front_matter_with_libyaml;
    use crate::document::split::{Parts, split};

    /// What serde_norway makes of `front_matter`, as the document parser
    /// would have it without this module.
    fn with_libyaml(front_matter: &str) -> Option<FrontMatter> {
        let parts = Parts {
            front_matter,
            front_matter_line: 2,
            body: "",
        };
        parse_front_matter_with_libyaml(&parts).ok()
    }

    /// Whether this reader took `front_matter`; when it did, its mapping
    /// must be libyaml's, keys in the same order.
    fn agrees(front_matter: &str) -> bool {
        let Some(fast) = parse(front_matter) else {
            return false;
        };
        let slow = with_libyaml(front_matter)
            .unwrap_or_else(|| panic!("read what libyaml refuses: {front_matter:?} as {fast:?}"));
        assert_eq!(
            format!("{fast:?}"),
            format!("{slow:?}"),
            "for {front_matter:?}"
        );
        true
    }

    /// `to_content` reads a borrowed value first: that must succeed
    /// exactly when reading the owned one does, with the same content.
    fn typed_the_same_borrowed_or_owned(mapping: Mapping) {
        use serde::Deserialize;

        use crate::article::ArticleContent;

        let value = Value::Mapping(mapping);
        let borrowed = ArticleContent::deserialize(&value).ok();
        let owned = serde_path_to_error::deserialize::<_, ArticleContent>(value.clone()).ok();
        assert_eq!(borrowed, owned, "for {value:?}");
    }

    fn mapping(front_matter: &str) -> Option<Mapping> {
        parse(front_matter).map(|read| read.mapping)
    }

    const FEED_LIKE: &str = "category: news\n\
        title: \"Microsoft Power Apps | 2019 \\\"wave\\\" 2\\noverview\"\n\
        excerpt: 'It''s here: the overview'\n\
        publishedDateTime: 2019-08-19T21:00:10Z\n\
        originalUrl: \"https://youtube.com/watch?v=WJk-Y8LQlfE\"\n\
        webUrl: https://example.com/a#fragment\n\
        type: video\n\
        quality: 137\n\
        heat: -1\n\
        published: true\n\
        \n\
        featuredContent: \"<iframe width=\\\"800\\\"></iframe>\"\n\
        provider:\n  name: Microsoft\n  domain: microsoft.com\n  images:\n    \
        - url: \"https://example.com/logo.jpg\"\n      width: 50\n      height: 50\n\
        topics:\n  - Power Apps\n  - 日本語\n\
        images:\n- url: i\n  isCached: false\n  caption:\n- url: j\n\
        related:\n  -   title: r\n      score: 007\n      tags:\n      - a\n      - -01\n\
        secured: nqgVTkX5Gw2l5Kpkool/ZLS2viVevBg9s7+JeehiAoip==\n\
        empty:\n\
        tilde: ~\n\
        code: 0\n\
        escapes: \"\\x41\\u00e9\\U0001F680\\t\\/\\\\ \\0\"\n\
        inf: infinity\n";

    #[test]
    fn reads_feed_like_front_matter_as_libyaml_does() {
        assert!(agrees(FEED_LIKE));
        let mapping = mapping(FEED_LIKE).expect("read");
        assert_eq!(mapping["heat"], Value::Number((-1_i64).into()));
        assert_eq!(mapping["quality"], Value::Number(137_u64.into()));
        assert_eq!(
            mapping["publishedDateTime"],
            Value::String("2019-08-19T21:00:10Z".into())
        );
        assert_eq!(mapping["empty"], Value::Null);
        for simple in [
            "title: t\n",
            "a: 1\nb:\n  c: 2\nd: x\n",
            "a:\n- 1\n- two\nb: 3\n",
            "a:\n  - b: 1\n    c:\n      - d\n  - e\n",
            "a: 18446744073709551615\nb: -9223372036854775808\n",
            "a: \"\"\nb: ''\nc: \"x\"   \n",
            "a: 1:2\nb: 12:30\nc: x#y\nd: (1)\n",
        ] {
            assert!(agrees(simple), "{simple:?} was declined");
        }
    }

    #[test]
    fn declines_what_it_does_not_read() {
        for declined in [
            "",
            "# comment\ntitle: t\n",
            "title: t # comment\n",
            "  title: t\n",
            "title: t\n  continued\n",
            "title: \"two\n  lines\"\n",
            "title: |\n  block\n",
            "title: >\n  folded\n",
            "title: &anchor t\nother: *anchor\n",
            "title: !tag t\n",
            "topics: [a, b]\n",
            "provider: {name: p}\n",
            "title: t\ntitle: again\n",
            "\"title\": t\n",
            "1: one\n",
            "null: x\n",
            "true: x\n",
            "? title\n: t\n",
            "%YAML 1.2\ntitle: t\n",
            "--- \ntitle: t\n",
            "title: t\n...\n",
            "title:\tt\n",
            "title: t\r\n",
            "title: \u{feff}t\n",
            "title: a\u{85}b\n",
            "title: a\u{2028}b\n",
            "title: a\u{7f}b\n",
            "quality: 1.5\n",
            "quality: 1e3\n",
            "quality: 0x1F\n",
            "quality: +1\n",
            "quality: .inf\n",
            "quality: 18446744073709551616\n",
            "quality: -9223372036854775809\n",
            "title: -x\n",
            "title: a: b\n",
            "title: a:\n",
            "title: \"\\N\"\n",
            "title: \"\\ud800\"\n",
            "title: \"unterminated\n",
            "title: \"done\" after\n",
            "topics:\n  -\n    nested\n",
            "topics:\n  - - nested\n",
            "topics:\n  - a\n  b: c\n",
            "- a\n",
            "title: t\n- a\n",
            "a:\n  b: 1\n c: 2\n",
        ] {
            assert!(mapping(declined).is_none(), "{declined:?} was read");
        }
    }

    #[test]
    fn declines_nesting_beyond_the_limit() {
        let nested = |depth: usize| {
            (0..depth)
                .map(|level| format!("{}k:\n", "  ".repeat(level)))
                .collect::<String>()
                + &"  ".repeat(depth)
                + "k: v\n"
        };
        assert!(agrees(&nested(MAX_NESTING_DEPTH - 1)));
        assert!(mapping(&nested(MAX_NESTING_DEPTH)).is_none());
    }

    /// A small deterministic generator (xorshift64) for the mutations.
    struct Random(u64);

    impl Random {
        fn below(&mut self, bound: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            usize::try_from(self.0 % u64::try_from(bound).expect("bound fits"))
                .expect("below bound")
        }
    }

    /// Edits that change what YAML means.
    const MUTATIONS: [&str; 51] = [
        " ", "  ", "\n", ":", ": ", "-", "- ", "#", " #", "\"", "'", "\\", "\\u00e9", "\\x4", "[",
        "{", "&a ", "*a", "!", "|", ">", "0", "1", "-1", "01", ".5", "1e3", "0x1", "a", "é", "\t",
        "\r", "~", "%", "@", "`", "?", ",", "null", "true", "\u{85}", "\u{feff}", "---", "...",
        "NULL", "-0", "+", "0o7", "1.", "inf", ".nan",
    ];

    /// Whatever this reader takes, libyaml must read the same way: random
    /// edits of feed-like front matter, most of them declined, many read.
    #[test]
    fn agrees_with_libyaml_on_mutated_front_matter() {
        let mut random = Random(0x9e37_79b9_7f4a_7c15);
        let mut read = 0;
        let total = 20_000;
        for _ in 0..total {
            let mut text = FEED_LIKE.to_string();
            for _ in 0..1 + random.below(3) {
                let boundaries: Vec<usize> = text
                    .char_indices()
                    .map(|(index, _)| index)
                    .chain([text.len()])
                    .collect();
                let start = boundaries[random.below(boundaries.len())];
                match random.below(3) {
                    0 => text.insert_str(start, MUTATIONS[random.below(MUTATIONS.len())]),
                    1 => {
                        let end = text[start..]
                            .char_indices()
                            .nth(1 + random.below(3))
                            .map_or(text.len(), |(offset, _)| start + offset);
                        text.replace_range(start..end, "");
                    }
                    _ => {
                        let end = text[start..]
                            .char_indices()
                            .nth(1)
                            .map_or(text.len(), |(offset, _)| start + offset);
                        text.replace_range(start..end, MUTATIONS[random.below(MUTATIONS.len())]);
                    }
                }
            }
            if agrees(&text) {
                read += 1;
            }
            if let Some(front_matter) = with_libyaml(&text) {
                typed_the_same_borrowed_or_owned(front_matter.mapping);
            }
        }
        assert!(read > total / 5, "only {read} of {total} mutants read");
    }

    /// Every front matter of the corpus and its history (`../shared/corpus`,
    /// or `NEWSWIRE_CORPUS_DIR`), which this reader exists for, is read as
    /// libyaml reads it.
    #[test]
    fn reads_nearly_all_of_the_corpus_as_libyaml_does() {
        use std::io::{BufRead, BufReader};
        use std::path::PathBuf;

        let directory = std::env::var_os("NEWSWIRE_CORPUS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
        let mut documents = Vec::new();
        for folder in ["seed", "powerapps-news", "ai-news-sample"] {
            for entry in std::fs::read_dir(directory.join(folder)).expect("a corpus folder") {
                let path = entry.expect("a corpus entry").path();
                documents.push(std::fs::read_to_string(path).expect("a corpus document"));
            }
        }
        let history = std::fs::File::open(directory.join("powerapps-history.jsonl.gz"))
            .expect("the corpus history");
        for line in BufReader::new(flate2::read::GzDecoder::new(history)).lines() {
            let entry: serde_json::Value =
                serde_json::from_str(&line.expect("a history line")).expect("a history entry");
            if let Some(document) = entry["document"].as_str() {
                documents.push(document.to_string());
            }
        }
        let read = documents
            .iter()
            .filter(|document| {
                let parts = split(document).expect("a corpus document splits");
                agrees(parts.front_matter)
            })
            .count();
        assert!(documents.len() > 7_000, "{} documents", documents.len());
        assert!(
            read * 100 >= documents.len() * 99,
            "read {read} of {}",
            documents.len()
        );
    }
}
