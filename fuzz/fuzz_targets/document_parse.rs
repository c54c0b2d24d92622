//! The document reader, differentially: `document::parse`, which reads
//! common front matter with its own fast YAML reader (`block_yaml`), must
//! give exactly what `document::parse_with_serde_norway_only` gives, the
//! same content or the same error. And a document that parses renders to
//! one that parses back to the same content, unless it uses aliases, which
//! rendering expands (possibly past a limit; see `document`'s module doc).

use newswire::document;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let fast = document::parse("fuzz.md", text);
        let reference = document::parse_with_serde_norway_only("fuzz.md", text);
        assert_eq!(
            format!("{fast:?}"),
            format!("{reference:?}"),
            "the fast reader and serde_norway disagree"
        );
        if let Ok(content) = fast {
            let rendered = document::render(&content);
            match document::parse("rendered.md", &rendered) {
                Ok(again) => assert_eq!(again, content, "parse(render(x)) != x"),
                Err(error) => assert!(
                    text.contains('*'),
                    "render(x) does not parse: {error}\n{rendered}"
                ),
            }
        }
    });
}
