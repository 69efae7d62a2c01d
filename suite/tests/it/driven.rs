//! A driven device's refusal, checked by code and type.

use peers::device::DriverRefusal;
use suite::judgement::{Failure, NotApplicable};
use suite::steps::device::driven::assert_driver_refused;

fn refusal(code: u32, error_type: &str, local: bool) -> DriverRefusal {
    DriverRefusal {
        op: "handle_otp".into(),
        code,
        error_type: error_type.into(),
        message: "refused".into(),
        refused_locally: local,
    }
}

/// What `assert_driver_refused` did: `Ok` for a pass, else the panic as text or n/a.
fn check(refusal: &DriverRefusal, code: u32, error_type: &str) -> Result<(), String> {
    std::panic::catch_unwind(|| assert_driver_refused("the request", refusal, code, error_type)).map_err(
        |payload| match payload.downcast::<NotApplicable>() {
            Ok(na) => format!("n/a: {}", na.0),
            Err(payload) => payload.downcast::<Failure>().map(|f| f.0).unwrap_or_default(),
        },
    )
}

#[test]
fn a_driven_refusal_is_checked_by_code_and_type() {
    let nf = "MOBILE_AUTH_REQUEST_NOT_FOUND";
    // The code and type are what the driver protocol carries; the status is not among them.
    assert_eq!(check(&refusal(10013, nf, false), 10013, nf), Ok(()));
    // Another code fails, unless the SDK is known to have refused by itself: not applicable.
    let not_enrolled = "MOBILE_AUTHENTICATION_NOT_ENROLLED";
    let disenrolled = "MOBILE_AUTHENTICATION_DISENROLLED";
    let wrong = check(&refusal(9021, not_enrolled, false), 9023, disenrolled);
    assert!(wrong.is_err_and(|m| !m.starts_with("n/a")));
    let local = check(&refusal(9021, not_enrolled, true), 9023, disenrolled);
    assert!(local.is_err_and(|m| m.starts_with("n/a")));
    // The same code given locally passes.
    assert_eq!(check(&refusal(9021, not_enrolled, true), 9021, not_enrolled), Ok(()));
}
