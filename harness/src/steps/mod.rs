//! The conformance suite's step definitions, one module per domain concept: what a device does,
//! what the portal (relying party) does and sees, and what the server is set up to do.
//!
//! Steps talk to the server only through the world's [`Target`](crate::target::Target). A failed
//! `Then` says what the profile expects and what came, so an implementer can act on it.

pub mod admin;
pub mod auth;
pub mod device;
pub mod driver;
pub mod http;
pub mod portal;
pub mod server;

use protocol::error::ErrorCode;

use crate::device::DeviceError;
use crate::world::Outcome;

/// An expected outcome as a feature file writes it: `accepted`, `created` (a success of that
/// name) or `<status> <error_code> <ERROR_TYPE>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// Any success.
    Success(String),
    /// A refusal with this status, code and type.
    Refused(u16, u32, String),
}

impl Expected {
    /// Parses `accepted`, `created` or `409 9016 DEVICE_ALREADY_ENROLLED`. A text that starts with
    /// a status must be a refusal of the error table ([`expected_error`]): a mistyped one is a
    /// defect of the suite, never read as a success.
    pub fn parse(text: &str) -> Self {
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.first().is_some_and(|p| p.chars().all(|c| c.is_ascii_digit())) {
            let [status, code, error_type] = parts.as_slice() else {
                panic!("an expected refusal is written \"<status> <code> <TYPE>\", not {text:?}")
            };
            let (Ok(status), Ok(code)) = (status.parse::<u16>(), code.parse::<u32>()) else {
                panic!("an expected refusal is written \"<status> <code> <TYPE>\", not {text:?}")
            };
            expected_error(status, code, error_type);
            return Expected::Refused(status, code, (*error_type).to_string());
        }
        Expected::Success(text.trim().to_string())
    }
}

/// The error table's entry for a refusal a scenario expects, `<status> <code> <TYPE>`. The code and
/// type must be a pair of the table, and the status one the contract answers that code with: the
/// table's status, 404 for 9021 on the enrollment resource (sections 3.1 and 8), or 413 for the
/// invalid-request code of an API (section 8, a body over 64 KiB). Anything else is a defect of the
/// suite (a mistyped code, type or status), so it panics, a harness error, instead of checking
/// something the contract never says.
pub fn expected_error(status: u16, code: u32, error_type: &str) -> ErrorCode {
    let Some(known) = ErrorCode::from_code(code).filter(|c| c.type_name() == error_type) else {
        panic!("the suite names {code} {error_type}, which is not a pair of the error table");
    };
    let also = match known {
        ErrorCode::MobileAuthenticationNotEnrolled => Some(404),
        ErrorCode::InvalidRequest | ErrorCode::InvalidParameter | ErrorCode::InvalidAdminRequest => Some(413),
        _ => None,
    };
    if known.http_status() != Some(status) && also != Some(status) {
        panic!(
            "the suite expects {code} {error_type} with status {status}, which the contract never answers it with"
        );
    }
    known
}

/// Checks an outcome against a refusal; panics with what was expected and what came.
pub fn assert_refused(what: &str, outcome: &Outcome, status: u16, code: u32, error_type: &str) {
    expected_error(status, code, error_type);
    let expected = format!("{what} to be refused with status {status}, error {code} {error_type}");
    match outcome {
        Ok(value) => fail!("expected {expected}, but it succeeded with {value}"),
        Err(DeviceError::Peer(peer)) => {
            if peer.api_error() != Some((status, code, error_type)) {
                fail!("expected {expected}, but the server {peer}");
            }
        }
        Err(DeviceError::Driver(refusal)) => {
            device::assert_driver_refused(&expected, refusal, code, error_type);
        }
        Err(other) => fail!("expected {expected}, but the device failed locally: {other}"),
    }
}

/// Checks an outcome against an [`Expected`]; `success` checks a success's value.
pub fn assert_outcome(
    what: &str,
    outcome: &Outcome,
    expected: &Expected,
    success: impl Fn(&serde_json::Value),
) {
    match expected {
        Expected::Refused(status, code, error_type) => {
            assert_refused(what, outcome, *status, *code, error_type);
        }
        Expected::Success(name) => match outcome {
            Ok(value) => success(value),
            Err(e) => fail!("expected {what} to be {name}, but {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_outcomes_parse() {
        assert_eq!(Expected::parse("accepted"), Expected::Success("accepted".into()));
        assert_eq!(
            Expected::parse("409 9018 USER_ALREADY_ENROLLED"),
            Expected::Refused(409, 9018, "USER_ALREADY_ENROLLED".into())
        );
        assert_eq!(
            expected_error(404, 9021, "MOBILE_AUTHENTICATION_NOT_ENROLLED"),
            ErrorCode::MobileAuthenticationNotEnrolled
        );
        assert_eq!(expected_error(413, 20001, "INVALID_ADMIN_REQUEST"), ErrorCode::InvalidAdminRequest);
    }

    #[test]
    #[should_panic(expected = "not a pair of the error table")]
    fn a_mistyped_error_type_is_a_suite_defect() {
        Expected::parse("409 9016 USER_ALREADY_ENROLLED");
    }

    #[test]
    #[should_panic(expected = "never answers it with")]
    fn a_status_the_contract_never_gives_is_a_suite_defect() {
        expected_error(400, 9016, "DEVICE_ALREADY_ENROLLED");
    }
}
