//! Checking the refusals of the device the device driver plays (an SDK under test); its
//! operations run behind the world's device handle ([`crate::world::DeviceHandle`]).

use peers::device::DriverRefusal;

/// Checks a driver's refusal against a refusal with a status, `code` and `error_type`: the code
/// and type are the driver's reply, which passes a device-API error through unchanged (section
/// 9). The status is not checked here: the driver protocol does not carry it, and the server's
/// event log is not read for it (the contract fixes only the entries' `seq`). When the SDK
/// refused with another code and is known to have refused by itself, without calling the server
/// (section 9's local checks, once it knows its enrollment is gone: DRV-008), the server's answer
/// cannot be checked through it: not applicable.
pub(crate) fn assert_driver_refused(expected: &str, refusal: &DriverRefusal, code: u32, error_type: &str) {
    if refusal.code != code || refusal.error_type != error_type {
        if refusal.refused_locally {
            crate::judgement::not_applicable(format!(
                "expected {expected}, but the SDK under test refused by itself, without calling the server \
                 (section 9: its local checks come first): {refusal}; the server's answer to that call \
                 cannot be checked through the driver protocol"
            ));
        }
        fail!("expected {expected}, but {refusal}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judgement::{Failure, NotApplicable};

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
}
