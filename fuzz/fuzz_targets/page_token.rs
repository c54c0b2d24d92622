//! Page tokens come from callers: decoding any text must fail cleanly or
//! give a cursor that encodes to a token decoding to the same cursor. The
//! input is tried as a whole token, and as the part after the fingerprint of
//! a token otherwise well formed (a fuzzer cannot guess a fingerprint), so
//! the sort value and id are read from arbitrary text too.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use newswire::convert::page_token;
use newswire::query::{ArticleQuery, Order};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let query = ArticleQuery::default();
        let order = Order::default();
        let with_fingerprint =
            URL_SAFE_NO_PAD.encode(format!("v1|{}|{text}", query.fingerprint(order)));
        for token in [text, with_fingerprint.as_str()] {
            if let Ok(cursor) = page_token::decode(token, &query, order, "page_token") {
                let again = page_token::encode(&query, order, cursor);
                assert_eq!(
                    page_token::decode(&again, &query, order, "page_token").ok(),
                    Some(cursor),
                    "a re-encoded cursor decodes differently"
                );
            }
        }
    });
}
