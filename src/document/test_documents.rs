//! Documents and helpers the document tests share.

use crate::article::ArticleContent;
use crate::error::Error;

/// A document whose line 7 is `quality: {quality}` and line 8 is
/// `heat: 12`.
pub(super) fn sample(quality: &str) -> String {
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

pub(super) fn error_message(result: Result<ArticleContent, Error>) -> String {
    match result {
        Ok(content) => panic!(
            "expected an error, parsed {}",
            format!("{content:?}").chars().take(300).collect::<String>()
        ),
        Err(Error::InvalidDocument(message)) => message,
        Err(other) => panic!("expected InvalidDocument, got {other:?}"),
    }
}
