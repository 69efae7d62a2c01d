//! The device the device driver plays (an SDK under test): running its operations and settling
//! their results into outcomes, behind [`super::handle::DeviceHandle`].

use protocol::error::ErrorCode;
use protocol::wire::Answer;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{ConformanceWorld, DrivenCall};
use peers::device::DeviceError;
use peers::driver::device::{DrivenDevice, DrivenError, OtpInput};

/// Runs `op` on the driver's device `name` (starting the driver on first use). The server's event
/// log is not read for the exchanges the driver made meanwhile: the contract fixes only its
/// entries' `seq`.
async fn driven<T>(
    world: &mut ConformanceWorld,
    name: &str,
    op: impl AsyncFnOnce(&mut DrivenDevice) -> Result<T, DrivenError>,
) -> (Result<T, DrivenError>, DrivenCall) {
    let result = match world.driven_device().await {
        Ok(device) => op(device).await,
        Err(DrivenError::Unimplemented(op)) => crate::judgement::not_implemented(op),
        Err(e) => fail!("expected the device driver playing {name:?} to start (hello, configure), but {e}"),
    };
    (result, DrivenCall { device: name.to_string() })
}

/// A driver operation's result as a step takes it: the SDK's refusal is an outcome,
/// `unimplemented` ends the scenario as not implemented, and a driver that crashed, hung or wrote
/// garbage fails the step with what was expected and what came.
fn settle<T>(
    name: &str,
    what: &str,
    (result, call): (Result<T, DrivenError>, DrivenCall),
) -> (Result<T, DeviceError>, DrivenCall) {
    let result = match result {
        Ok(value) => Ok(value),
        Err(DrivenError::Refused(refusal)) => Err(DeviceError::Driver(refusal)),
        Err(DrivenError::Unimplemented(op)) => crate::judgement::not_implemented(op),
        Err(broken) => fail!("expected the device driver playing {name:?} to {what}, but {broken}"),
    };
    (result, call)
}

/// Runs `op` on the driver's device and settles it ([`settle`]).
pub(super) async fn drive<T>(
    world: &mut ConformanceWorld,
    name: &str,
    what: &str,
    op: impl AsyncFnOnce(&mut DrivenDevice) -> Result<T, DrivenError>,
) -> (Result<T, DeviceError>, DrivenCall) {
    let outcome = driven(world, name, op).await;
    settle(name, what, outcome)
}

/// Runs `op` on the driver's device and records its outcome for the `Then` steps.
pub(super) async fn drive_and_record<T: serde::Serialize>(
    world: &mut ConformanceWorld,
    name: &str,
    what: &str,
    op: impl AsyncFnOnce(&mut DrivenDevice) -> Result<T, DrivenError>,
) {
    let (result, call) = drive(world, name, what, op).await;
    let outcome = result.map(|value| serde_json::to_value(value).unwrap_or(Value::Null));
    world.record_driven(outcome, call);
}

/// Runs `op` on the driver's device, which must succeed for the step to go on.
pub(super) async fn drive_ok<T>(
    world: &mut ConformanceWorld,
    name: &str,
    what: &str,
    op: impl AsyncFnOnce(&mut DrivenDevice) -> Result<T, DrivenError>,
) -> T {
    match drive(world, name, what, op).await.0 {
        Ok(value) => value,
        Err(e) => fail!("expected the device driver playing {name:?} to {what}, but {e}"),
    }
}

/// The driver's device's id, from `state`.
pub(super) async fn driven_device_id(world: &mut ConformanceWorld, name: &str) -> Uuid {
    drive_ok(world, name, "answer state", async |d| d.state().await).await.device_id
}

/// The code section 9 has `handle_otp` refuse with locally, before any server call, when the
/// driver's device by its own `state` has no user (9010) or no enrollment (9021); `None` when it
/// has both, or `state` does not answer.
async fn local_refusal_code(world: &mut ConformanceWorld) -> Option<u32> {
    let state = world.driven_device().await.ok()?.state().await.ok()?;
    match (state.authenticated, state.enrolled) {
        (false, _) => Some(ErrorCode::UserNotAuthenticated.code()),
        (true, false) => Some(ErrorCode::MobileAuthenticationNotEnrolled.code()),
        (true, true) => None,
    }
}

/// The transaction an OTP names (its bytes 1 to 16), when it is one of the section 4 format.
fn otp_transaction(otp: &str) -> Option<String> {
    peers::device::check_otp_locally(otp).ok().map(|otp| otp.transaction_id.to_string())
}

/// The driver's device handles an OTP: `handle_otp`, with the image the camera saw or the OTP as
/// text. The request it shows must be the transaction the OTP names. Recorded as the outcome:
/// the request shown (`{"transaction_id", "message"}`) or the refusal.
pub(super) async fn handle_driven(world: &mut ConformanceWorld, name: &str, input: OtpInput, otp: &str) {
    let showing = match world.driven_device().await {
        Ok(device) => device.is_showing(),
        Err(e) => fail!("expected the device driver playing {name:?} to start (hello, configure), but {e}"),
    };
    if showing {
        crate::judgement::not_applicable(format!(
            "this step has {name:?}, the device driver's device (the SDK under test), handle an OTP again \
             while it shows a request: a simulated device fetches a new challenge then, but through the \
             driver protocol an SDK refuses a second handle_otp until its user decides ({})",
            ErrorCode::AlreadyInProgressMobileAuth.code()
        ));
    }
    let local = local_refusal_code(world).await;
    let (mut result, call) = drive(world, name, "handle the OTP", async |d| d.handle_otp(input).await).await;
    if let Err(DeviceError::Driver(refusal)) = &mut result
        && Some(refusal.code) == local
    {
        // Known from the contract, not from the server: section 9's local check for the state the
        // driver itself reported came first. Any other code stays the driver's to answer for.
        refusal.refused_locally = true;
    }
    if let (Ok(shown), Some(expected)) = (&result, otp_transaction(otp)) {
        ensure_eq!(
            shown.transaction_id,
            expected,
            "expected the device driver playing {name:?} to show the request of the transaction its OTP \
             names (open_auth_otp's transaction_id), got {shown:?}"
        );
    }
    match &result {
        Ok(_) => {
            world.notes.last_fetcher = Some(name.to_string());
            world.notes.handle_refused = None;
        }
        Err(refusal) => world.notes.handle_refused = Some((name.to_string(), refusal.to_string())),
    }
    let outcome =
        result.map(|shown| json!({ "transaction_id": shown.transaction_id, "message": shown.message }));
    world.record_driven(outcome, call);
}

/// The driver's device decides on the request it shows: `accept` or `deny`, then `handle_otp`'s
/// reply. Recorded as the outcome: `{"status"}` or the refusal.
pub(super) async fn decide_driven(world: &mut ConformanceWorld, name: &str, answer: Answer) {
    if let Some((device, refusal)) = world.notes.handle_refused.take()
        && device == name
    {
        fail!(
            "expected {name:?} to show the request to {} it, but the OTP it was given was not shown: {refusal}",
            answer.as_str()
        );
    }
    drive_and_record(world, name, &format!("take the decision {}", answer.as_str()), async |d| {
        d.decide(answer).await.map(|status| json!({ "status": status }))
    })
    .await;
}

/// For the driver's device, an answer the scenario makes is the SDK's own only when the device
/// shows the request: then it is the user's decision; any other answer is not applicable.
pub(super) async fn decide_if_showing(world: &mut ConformanceWorld, name: &str, answer: Answer, what: &str) {
    let showing = match world.driven_device().await {
        Ok(device) => device.is_showing(),
        Err(e) => fail!("expected the device driver playing {name:?} to start (hello, configure), but {e}"),
    };
    if !showing {
        crate::judgement::not_applicable(format!(
            "this step has {name:?}, the device driver's device (the SDK under test), answer {what} with \
             no request showing, and through the driver protocol an SDK answers only the request it shows"
        ));
    }
    decide_driven(world, name, answer).await;
}
