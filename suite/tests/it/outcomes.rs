//! "One of several replies" checks of a device call's outcome.

use peers::device::DeviceError;
use protocol::error::ErrorBody;
use suite::judgement::Failure;
use suite::steps::device::outcomes::assert_one_of;
use suite::world::Outcome;
use transcript::PeerError;

fn refused(status: u16, code: u32, error_type: &str) -> Outcome {
    let body = ErrorBody { error_code: code, error_type: error_type.into(), error_message: String::new() };
    Err(DeviceError::Peer(PeerError::Refused { status, body }))
}

fn check(outcome: &Outcome, text: &str) -> Result<(), String> {
    std::panic::catch_unwind(|| {
        assert_one_of("the call", outcome, text, |name, value| value["status"].as_str() == Some(name));
    })
    .map_err(|payload| payload.downcast::<Failure>().map(|f| f.0).unwrap_or_default())
}

#[test]
fn one_of_several_replies_passes_and_any_other_fails() {
    let either = "accepted or 403 10019 INVALID_SIGNATURE";
    let accepted: Outcome = Ok(serde_json::json!({ "status": "accepted" }));
    assert_eq!(check(&accepted, either), Ok(()));
    assert_eq!(check(&refused(403, 10019, "INVALID_SIGNATURE"), either), Ok(()));
    assert!(check(&refused(404, 10013, "MOBILE_AUTH_REQUEST_NOT_FOUND"), either).is_err());
    assert!(check(&Ok(serde_json::json!({ "status": "denied" })), either).is_err());
    let any = "answered or a 4xx error";
    assert_eq!(check(&refused(403, 9021, "MOBILE_AUTHENTICATION_NOT_ENROLLED"), any), Ok(()));
    assert!(check(&refused(500, 10000, "GENERAL_ERROR"), any).is_err());
}
