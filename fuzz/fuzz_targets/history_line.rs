//! A line of a history file (`newswire import` reads them), then what the
//! server does with its document: parse it and derive the article's key
//! from the entry's path. Nothing may panic.

use newswire::article::ArticleKey;
use newswire::client::import::history_item;
use newswire::document;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Ok(line) = std::str::from_utf8(data) else {
            return;
        };
        let Ok((source, text)) = history_item(line) else {
            return;
        };
        if let Ok(content) = document::parse(&source, &text) {
            let _ = ArticleKey::default_for(Some(&source), &content);
        }
    });
}
