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
pub fn assert_driver_refused(expected: &str, refusal: &DriverRefusal, code: u32, error_type: &str) {
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
