//! Request ids: the caller's `x-request-id` when it is a sensible token,
//! else a fresh UUID; returned in the response's `x-request-id` header and
//! written to the logs and the audit log, so one id follows a call through
//! every system that saw it.

use std::fmt;

use tonic::codegen::http::{HeaderMap, HeaderValue, Response};

/// The header carrying the id, both ways.
pub const HEADER: &str = "x-request-id";
/// Longest caller-chosen id accepted; longer ones are replaced.
const MAX_LENGTH: usize = 128;

/// A call's id, kept as the header value it is returned in: the caller's
/// is reused as it came, without a copy.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The request's id: the caller's if it is 1–128 visible ASCII
    /// characters, else a new UUID (v7, so ids sort by time).
    pub fn of(headers: &HeaderMap) -> Self {
        let given = headers.get(HEADER).filter(|value| {
            let bytes = value.as_bytes();
            !bytes.is_empty() && bytes.len() <= MAX_LENGTH && bytes.iter().all(u8::is_ascii_graphic)
        });
        Self(given.cloned().unwrap_or_else(fresh))
    }

    /// The id; visible ASCII by construction.
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or_default()
    }

    /// Puts the id into the response headers.
    pub fn attach<B>(&self, response: &mut Response<B>) {
        response.headers_mut().insert(HEADER, self.0.clone());
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), formatter)
    }
}

/// A new UUID v7 in its hyphenated form.
fn fresh() -> HeaderValue {
    let mut buffer = uuid::Uuid::encode_buffer();
    let text = uuid::Uuid::now_v7().hyphenated().encode_lower(&mut buffer);
    // A hyphenated UUID is hex digits and hyphens: always a valid value.
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("invalid-uuid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_header(value: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            HEADER,
            HeaderValue::from_bytes(value).expect("a header value"),
        );
        headers
    }

    #[test]
    fn a_sensible_caller_id_is_kept_and_others_are_replaced_by_a_uuid() {
        let kept = RequestId::of(&with_header(b"trace-42/a.b"));
        assert_eq!(kept.as_str(), "trace-42/a.b");
        let too_long = vec![b'a'; MAX_LENGTH + 1];
        for rejected in [&b"has space"[..], b"", &too_long, b"tab\there"] {
            let id = RequestId::of(&with_header(rejected));
            assert!(
                uuid::Uuid::parse_str(id.as_str()).is_ok(),
                "{rejected:?} gave {id}"
            );
        }
        let fresh = RequestId::of(&HeaderMap::new());
        let parsed = uuid::Uuid::parse_str(fresh.as_str()).expect("a UUID");
        assert_eq!(parsed.get_version_num(), 7);
        assert_eq!(fresh.as_str().len(), 36);
    }
}
