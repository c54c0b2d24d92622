//! Cutting a document at its delimiter lines: the front matter between the
//! `---` lines, and the body after them.

use super::Problem;

/// The line that opens and closes the front matter.
pub(super) const DELIMITER: &str = "---";

/// A document cut at its delimiter lines.
#[derive(Debug, PartialEq)]
pub(super) struct Parts<'a> {
    /// The text between the delimiter lines.
    pub(super) front_matter: &'a str,
    /// The document line on which the front matter starts.
    pub(super) front_matter_line: usize,
    /// Everything after the closing delimiter line.
    pub(super) body: &'a str,
}

/// Splits the delimiter block off a document.
pub(super) fn split(text: &str) -> Result<Parts<'_>, Problem> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
