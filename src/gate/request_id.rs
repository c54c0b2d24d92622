//! Request ids: the caller's `x-request-id` when it is a sensible token,
//! else a fresh UUID; returned in the response's `x-request-id` header and
//! written to the logs and the audit log, so one id follows a call through
//! every system that saw it.

use tonic::codegen::http::{HeaderMap, HeaderValue, Response};

/// The header carrying the id, both ways.
pub const HEADER: &str = "x-request-id";
/// Longest caller-chosen id accepted; longer ones are replaced.
const MAX_LENGTH: usize = 128;

/// The request's id: the caller's if it is 1–128 visible ASCII characters,
/// else a new UUID (v7, so ids sort by time).
pub fn of(headers: &HeaderMap) -> String {
    headers
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            !id.is_empty() && id.len() <= MAX_LENGTH && id.chars().all(|c| c.is_ascii_graphic())
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

/// Puts the id into the response headers.
pub fn attach<B>(response: &mut Response<B>, id: &str) {
    if let Ok(value) = HeaderValue::from_str(id) {
        response.headers_mut().insert(HEADER, value);
    }
}
