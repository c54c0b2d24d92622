//! The metrics of each call: `newswire_requests_total` by method and code,
//! `newswire_request_duration_seconds` by method. The keys of every served
//! method's series are built once, when the gate is: building them per call
//! (labels as owned strings, a vector, a hash) cost allocations on every
//! call, even with no recorder installed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use metrics::{Key, Label, Level, Metadata, SharedString};
use tonic::Code;

use crate::metrics::{REQUEST_SECONDS, REQUESTS};

/// Where the series come from, as `metrics::counter!` in this module says.
static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// gRPC status codes: 0 (`OK`) to 16 (`UNAUTHENTICATED`).
const CODES: usize = 17;

/// The label of every path the policy does not name: callers cannot grow
/// the number of series.
const UNKNOWN: &str = "unknown";

/// The series keys of every served method, by HTTP/2 path.
pub struct CallMetrics {
    methods: HashMap<String, MethodMetrics>,
    unknown: MethodMetrics,
}

impl CallMetrics {
    /// Keys for each of `paths` (`/package.Service/Method`), labelled
    /// `package.Service/Method`.
    pub fn new(paths: impl IntoIterator<Item = String>) -> Self {
        let methods = paths
            .into_iter()
            .map(|path| (path.clone(), MethodMetrics::new(&path)))
            .collect();
        Self {
            methods,
            unknown: MethodMetrics::new(UNKNOWN),
        }
    }

    /// The series of the method at `path`, or those of unknown methods.
    pub fn of(&self, path: &str) -> &MethodMetrics {
        self.methods.get(path).unwrap_or(&self.unknown)
    }
}

/// One method's series.
pub struct MethodMetrics {
    /// `/package.Service/Method`, or `unknown`.
    path: Box<str>,
    /// Indexed by the gRPC code's number.
    requests_by_code: [Key; CODES],
    seconds: Key,
}

impl MethodMetrics {
    fn new(path: &str) -> Self {
        let label = path.trim_start_matches('/');
        let method = SharedString::from(Arc::<str>::from(label));
        let requests_by_code = std::array::from_fn(|number| {
            let code = Code::from_i32(i32::try_from(number).unwrap_or(i32::MAX));
            Key::from_parts(
                REQUESTS,
                vec![
                    Label::new("method", method.clone()),
                    Label::new("code", crate::audit::code_name(code)),
                ],
            )
        });
        Self {
            path: path.into(),
            requests_by_code,
            seconds: Key::from_parts(REQUEST_SECONDS, vec![Label::new("method", method)]),
        }
    }

    /// The method's path (`/package.Service/Method`), or `unknown`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Counts a call that ended with `code` after `elapsed`.
    pub fn record(&self, code: Code, elapsed: Duration) {
        // Every `Code` is one of the 17 (unknown numbers map to UNKNOWN).
        let requests = &self.requests_by_code[code as usize];
        metrics::with_recorder(|recorder| {
            recorder.register_counter(requests, &METADATA).increment(1);
            recorder
                .register_histogram(&self.seconds, &METADATA)
                .record(elapsed.as_secs_f64());
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_has_its_own_series_and_unknown_paths_share_one() {
        let table = CallMetrics::new(["/a.B/C".to_string()]);
        let known = table.of("/a.B/C");
        for number in 0..CODES {
            let code = Code::from_i32(i32::try_from(number).expect("small"));
            let labels: Vec<(&str, &str)> = known.requests_by_code[number]
                .labels()
                .map(|label| (label.key(), label.value()))
                .collect();
            assert_eq!(
                labels,
                [("method", "a.B/C"), ("code", crate::audit::code_name(code))]
            );
        }
        let unknown = table.of("/x.Y/Z").seconds.labels().next().map(Label::value);
        assert_eq!(unknown, Some(UNKNOWN));
    }
}
