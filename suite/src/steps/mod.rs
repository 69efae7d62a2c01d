//! The conformance suite's step definitions, one module per domain concept: what a device does,
//! what the portal (relying party) does and sees, and what the server is set up to do.
//!
//! Steps talk to the server only through the world's [`Target`](peers::target::Target). A failed
//! `Then` says what the profile expects and what came, so an implementer can act on it.

pub mod admin;
pub mod auth;
pub mod device;
pub mod driver;
pub mod http;
pub mod portal;
pub mod server;

use protocol::error::ErrorCode;

use crate::world::Outcome;
use peers::device::DeviceError;

/// A reply a scenario expects, as feature files write it: a success by name (`accepted`,
/// `created`, ...), or a refusal of the error table in one of three spellings, `status 409, error
/// 9016 DEVICE_ALREADY_ENROLLED`, `error 9016 DEVICE_ALREADY_ENROLLED` (where no HTTP status is
/// seen: a driver's reply) and `409 9016 DEVICE_ALREADY_ENROLLED` (an Examples cell).
///
/// It is the suite's one cucumber parameter for expected replies (`{reply}`), and parsing checks
/// a refusal against the error table ([`expected_error`]): a mistyped code, type or status is a
/// defect of the suite that ends the scenario, never a check that passes.
#[derive(Debug, Clone, PartialEq, Eq, cucumber::Parameter)]
#[param(
    name = "reply",
    regex = r"(?:status \d{3}, )?error \d+ [A-Z][A-Z0-9_]*|\d{3} \d+ [A-Z][A-Z0-9_]*|[a-z][a-z_-]*"
)]
pub enum Reply {
    /// A success of this name.
    Success(String),
    /// A refusal with this error code, and this HTTP status where the scenario sees one.
    Refused {
        /// The HTTP status, when the scenario sees it.
        status: Option<u16>,
        /// The error code (its type name is the table's).
        code: ErrorCode,
    },
}

/// Why a feature's expected reply is not one the suite can check: a defect of the suite.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// Not in any of the spellings of [`Reply`].
    #[error(
        "an expected reply is a success's name or a refusal \"status <status>, error <code> <TYPE>\", not {0:?}"
    )]
    Spelling(String),
    /// The code and type are not a pair of the error table.
    #[error("the suite names {code} {error_type}, which is not a pair of the error table")]
    NotInTable {
        /// The code as written.
        code: u32,
        /// The type as written.
        error_type: String,
    },
    /// The contract never answers this code with this status.
    #[error(
        "the suite expects {code} {error_type} with status {status}, which the contract never answers it with"
    )]
    WrongStatus {
        /// The status as written.
        status: u16,
        /// The code as written.
        code: u32,
        /// The type as written.
        error_type: String,
    },
}

impl Reply {
    /// Parses a reply written inside a longer phrase (a list of alternatives); a text that is no
    /// reply of the suite's spellings is a defect of the suite, so it panics (a harness error).
    pub fn parse(text: &str) -> Reply {
        text.parse().unwrap_or_else(|error| panic!("{error}"))
    }

    /// Whether a server's refusal, as [`PeerError::api_error`](transcript::PeerError::api_error)
    /// gives it, is this refusal (its status too, where this reply names one).
    pub fn admits(&self, api_error: Option<(u16, u32, &str)>) -> bool {
        match (self, api_error) {
            (Reply::Refused { status, code }, Some((got_status, got_code, got_type))) => {
                status.is_none_or(|s| s == got_status)
                    && code.code() == got_code
                    && code.type_name() == got_type
            }
            _ => false,
        }
    }

    /// The expected refusal's `(status, code, type)`, when it is a refusal with a status.
    pub fn refusal(&self) -> Option<(u16, u32, &'static str)> {
        match self {
            Reply::Refused { status: Some(status), code } => Some((*status, code.code(), code.type_name())),
            _ => None,
        }
    }
}

impl std::str::FromStr for Reply {
    type Err = ReplyError;

    fn from_str(text: &str) -> Result<Self, ReplyError> {
        let spelling = || ReplyError::Spelling(text.to_string());
        let text = text.trim();
        let (status, rest) = match text.strip_prefix("status ") {
            Some(rest) => {
                let (status, rest) = rest.split_once(", ").ok_or_else(spelling)?;
                (Some(status), rest.strip_prefix("error ").ok_or_else(spelling)?)
            }
            None => match text.strip_prefix("error ") {
                Some(rest) => (None, rest),
                None if text.starts_with(|c: char| c.is_ascii_digit()) => {
                    let (status, rest) = text.split_once(' ').ok_or_else(spelling)?;
                    (Some(status), rest)
                }
                None if !text.is_empty() && !text.contains(char::is_whitespace) => {
                    return Ok(Reply::Success(text.to_string()));
                }
                None => return Err(spelling()),
            },
        };
        let (code, error_type) = rest.split_once(' ').ok_or_else(spelling)?;
        let code: u32 = code.parse().map_err(|_| spelling())?;
        let status = status.map(|s| s.parse::<u16>().map_err(|_| spelling())).transpose()?;
        let known = table_entry(code, error_type)?;
        if let Some(status) = status {
            check_status(known, status, error_type)?;
        }
        Ok(Reply::Refused { status, code: known })
    }
}

/// The table's code for `code` and `error_type`, when they are a pair of it.
fn table_entry(code: u32, error_type: &str) -> Result<ErrorCode, ReplyError> {
    ErrorCode::from_code(code)
        .filter(|c| c.type_name() == error_type)
        .ok_or_else(|| ReplyError::NotInTable { code, error_type: error_type.to_string() })
}

/// Whether the contract answers `known` with `status`: the table's status, 404 for 9021 on the
/// enrollment resource (sections 3.1 and 8), or 413 for the invalid-request code of an API
/// (section 8, a body over 64 KiB).
fn check_status(known: ErrorCode, status: u16, error_type: &str) -> Result<(), ReplyError> {
    let also = match known {
        ErrorCode::MobileAuthenticationNotEnrolled => Some(404),
        ErrorCode::InvalidRequest | ErrorCode::InvalidParameter | ErrorCode::InvalidAdminRequest => Some(413),
        _ => None,
    };
    if known.http_status() == Some(status) || also == Some(status) {
        Ok(())
    } else {
        Err(ReplyError::WrongStatus { status, code: known.code(), error_type: error_type.to_string() })
    }
}

/// The error table's entry for a refusal a scenario expects, `<status> <code> <TYPE>`. The code and
/// type must be a pair of the table, and the status one the contract answers that code with: the
/// table's status, 404 for 9021 on the enrollment resource (sections 3.1 and 8), or 413 for the
/// invalid-request code of an API (section 8, a body over 64 KiB). Anything else is a defect of the
/// suite (a mistyped code, type or status), so it panics, a harness error, instead of checking
/// something the contract never says.
pub fn expected_error(status: u16, code: u32, error_type: &str) -> ErrorCode {
    let checked = table_entry(code, error_type)
        .and_then(|known| check_status(known, status, error_type).map(|()| known));
    checked.unwrap_or_else(|error| panic!("{error}"))
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

/// Checks an outcome against an expected [`Reply`]; `success` checks a success's value.
pub fn assert_outcome(what: &str, outcome: &Outcome, expected: &Reply, success: impl Fn(&serde_json::Value)) {
    match expected {
        Reply::Refused { status: Some(status), code } => {
            assert_refused(what, outcome, *status, code.code(), code.type_name());
        }
        Reply::Refused { status: None, code } => assert_refused_with(what, outcome, *code),
        Reply::Success(name) => match outcome {
            Ok(value) => success(value),
            Err(e) => fail!("expected {what} to be {name}, but {e}"),
        },
    }
}

/// Checks an outcome against a refusal whose HTTP status the scenario does not fix.
fn assert_refused_with(what: &str, outcome: &Outcome, code: ErrorCode) {
    let expected = format!("{what} to be refused with error {} {}", code.code(), code.type_name());
    match outcome {
        Ok(value) => fail!("expected {expected}, but it succeeded with {value}"),
        Err(DeviceError::Peer(peer)) => {
            if peer.api_error().map(|(_, c, t)| (c, t)) != Some((code.code(), code.type_name())) {
                fail!("expected {expected}, but the server {peer}");
            }
        }
        Err(DeviceError::Driver(refusal)) => {
            device::assert_driver_refused(&expected, refusal, code.code(), code.type_name());
        }
        Err(other) => fail!("expected {expected}, but the device failed locally: {other}"),
    }
}
