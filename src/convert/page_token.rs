//! Opaque, keyset-based page tokens. A token holds the position of the last
//! row returned and a fingerprint of the query and order it belongs to, so
//! it cannot be replayed against a different query.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::article::ArticleId;
use crate::error::Error;
use crate::query::{ArticleQuery, Cursor, Order};

const VERSION: &str = "v1";

/// The token that continues `query` in `order` after `cursor`.
pub fn encode(query: &ArticleQuery, order: Order, cursor: Cursor) -> String {
    encode_with_fingerprint(&query.fingerprint(order), cursor)
}

/// `encode` with the query's fingerprint (`ArticleQuery::fingerprint`)
/// computed once by the caller: a stream issues a token per message.
pub fn encode_with_fingerprint(fingerprint: &str, cursor: Cursor) -> String {
    let plain = format!(
        "{VERSION}|{fingerprint}|{}|{}",
        cursor.sort_value, cursor.id
    );
    URL_SAFE_NO_PAD.encode(plain)
}

/// The cursor in `token`, which must have been made for `query` in `order`.
/// `field` names the request field that carried it, for errors.
pub fn decode(
    token: &str,
    query: &ArticleQuery,
    order: Order,
    field: &str,
) -> Result<Cursor, Error> {
    let invalid = || Error::invalid(field, "is not a token this server issued");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let plain = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = plain.split('|');
    let (Some(VERSION), Some(fingerprint), Some(sort_value), Some(id), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(invalid());
    };
    if fingerprint != query.fingerprint(order) {
        return Err(Error::invalid(
            field,
            "was issued for a different query or order_by; send the same query with it",
        ));
    }
    let sort_value = sort_value.parse().map_err(|_| invalid())?;
    let id = ArticleId::parse(id, field).map_err(|_| invalid())?;
    Ok(Cursor { sort_value, id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_queries() {
        let query = ArticleQuery {
            min_heat: Some(3),
            ..ArticleQuery::default()
        };
        let order = Order::default();
        let cursor = Cursor {
            sort_value: -42,
            id: ArticleId::generate(),
        };
        let token = encode(&query, order, cursor);
        assert_eq!(
            decode(&token, &query, order, "page_token").ok(),
            Some(cursor)
        );

        let other = ArticleQuery {
            min_heat: Some(4),
            ..ArticleQuery::default()
        };
        assert!(decode(&token, &other, order, "page_token").is_err());
        assert!(decode("not a token", &query, order, "page_token").is_err());
        assert!(
            decode(
                &URL_SAFE_NO_PAD.encode("v1|x|1"),
                &query,
                order,
                "page_token"
            )
            .is_err()
        );
    }
}
