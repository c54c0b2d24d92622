//! Errors placed on the document's lines: where serde_norway stopped,
//! counted from the start of the document, and the line of the top-level
//! key that holds a badly typed or invalid field.

use crate::error::FieldViolation;

use super::Problem;
use super::split::Parts;

/// One message naming every validation failure with its line.
pub(super) fn describe_violations(
    source: &str,
    parts: &Parts<'_>,
    violations: &[FieldViolation],
) -> String {
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
pub(super) fn top_level_field(path: &str) -> Option<&str> {
    let end = path.find(['.', '[']).unwrap_or(path.len());
    Some(&path[..end]).filter(|key| !key.is_empty())
}

/// The document line of the top-level `key:` in the front matter. A key can
/// appear plain or quoted; the first match wins (duplicates are refused
/// earlier).
pub(super) fn key_line(parts: &Parts<'_>, key: &str) -> Option<usize> {
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
pub(super) fn yaml_problem(parts: &Parts<'_>, error: &serde_norway::Error) -> Problem {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
