//! Assertions on the statuses the server answers with.

use tonic::Status;
use tonic_types::StatusExt;

/// Asserts that `status` refuses a request as INVALID_ARGUMENT whose
/// BadRequest details name `field` first.
pub fn assert_invalid_field(status: &Status, field: &str) {
    assert_eq!(
        status.code(),
        tonic::Code::InvalidArgument,
        "{field}: {status:?}"
    );
    let bad_request = status
        .get_details_bad_request()
        .expect("BadRequest details");
    assert_eq!(bad_request.field_violations[0].field, field);
}
