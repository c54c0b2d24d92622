//! `render`: content back to a document that `parse` reads as the same
//! content.

use crate::article::ArticleContent;

use super::split::DELIMITER;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::parse;
    use crate::document::test_documents::sample;

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
}
