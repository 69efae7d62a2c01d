//! Outcomes where the contract lets a server choose: a feature file writes the replies it
//! accepts joined by " or " (`accepted or 403 10019 INVALID_SIGNATURE`), each a success of that
//! name, `<status> <code> <TYPE>`, or `a 4xx error` (any 4xx with the error body of section 0).

use serde_json::Value;

use crate::steps::Reply;
use crate::steps::server::assert_reply;
use crate::world::Outcome;
use peers::device::DeviceError;
use transcript::PeerError;

/// One reply of several a scenario accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Accepted {
    /// A success, or a refusal with this status, code and type.
    Exactly(Reply),
    /// Any 4xx with the device API's error body.
    AnyClientError,
}

impl Accepted {
    /// Parses one alternative; a mistyped refusal is a defect of the suite ([`Reply::parse`]).
    fn parse(text: &str) -> Self {
        match text.trim() {
            "a 4xx error" => Accepted::AnyClientError,
            other => Accepted::Exactly(Reply::parse(other)),
        }
    }

    /// Whether `outcome` is this reply; `success` tells whether a success is the one named.
    fn matches(&self, outcome: &Outcome, success: &impl Fn(&str, &Value) -> bool) -> bool {
        match (self, outcome) {
            (Accepted::Exactly(Reply::Success(name)), Ok(value)) => success(name, value),
            (Accepted::Exactly(refused @ Reply::Refused { code, .. }), Err(error)) => match error {
                DeviceError::Peer(peer) => refused.admits(peer.api_error()),
                // The driver protocol carries the code and type only (section 9).
                DeviceError::Driver(refusal) => {
                    refusal.code == code.code() && refusal.error_type == code.type_name()
                }
                _ => false,
            },
            (Accepted::AnyClientError, Err(DeviceError::Peer(PeerError::Refused { status, body }))) => {
                (400..500).contains(status) && is_upper_snake(&body.error_type)
            }
            (Accepted::AnyClientError, Err(DeviceError::Driver(_))) => true,
            _ => false,
        }
    }
}

/// An `error_type` of section 0's shape: UPPER_SNAKE.
fn is_upper_snake(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_uppercase())
        && text.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Checks `outcome` against the replies `text` names. A single reply is checked as
/// [`assert_reply`] checks it; of several, the outcome must be one. `success(name, value)` tells
/// whether a success is the one named.
pub fn assert_one_of(what: &str, outcome: &Outcome, text: &str, success: impl Fn(&str, &Value) -> bool) {
    let alternatives: Vec<Accepted> = text.split(" or ").map(Accepted::parse).collect();
    if let [_] = alternatives.as_slice() {
        return assert_reply(what, outcome, text, |value| {
            ensure!(success(text.trim(), value), "expected {what} to be {text}, got {value}");
        });
    }
    if !alternatives.iter().any(|accepted| accepted.matches(outcome, &success)) {
        match outcome {
            Ok(value) => fail!("expected {what} to be {text}, but it succeeded with {value}"),
            Err(e) => fail!("expected {what} to be {text}, but {e}"),
        }
    }
}
