//! The reference driver's alternative readings (`mobauth device-driver --alternative-readings`):
//! at every point where contract sections 7 and 9 leave a choice it takes another legal reading
//! than the default. A table of cases, each spoken to a real driver process over its pipes,
//! against an embedded mock server where it needs one; each alternative beside the default's
//! reading of the same point.

mod cases;
mod driver;
mod world;

use cases::CASES;
use world::check;

/// Which reference driver a case speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Readings {
    Default,
    Alternative,
}

/// What a reply must be.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// A success whose fields include these (a JSON object).
    Ok(&'static str),
    /// An error with this `error_code` and `error_type`.
    Err(u32, &'static str),
}

/// One step of a case.
#[derive(Debug, Clone, Copy)]
enum Act {
    /// A request (a JSON object without `id`; `$SERVER`, `$OTP` and the `$QR_*` images filled
    /// in) and its reply, which must come next.
    Ask(&'static str, Want),
    /// A line that is not JSON, and its reply (`"id": null`).
    Garbage(&'static str, Want),
    /// A `handle_otp` request that shows: `open_auth_otp` comes next, its reply waits.
    Shows(&'static str),
    /// The user's decision (`accept` or `deny`) on the showing request: its `{}`, then
    /// `close_auth_otp`, then `handle_otp`'s reply, which must be `Want`.
    Decides(&'static str, Want),
    /// The portal starts an OTP transaction: sets `$OTP` and the `$QR_*` images of it.
    StartsOtp,
    /// The admin deletes alice's enrollment of the driver's device.
    AdminDeletes,
    /// Another (simulated) device enrolls alice.
    OtherDeviceEnrolls,
    /// The device-API calls the server logged so far, as (method, path, status).
    ServerLogged(&'static [(&'static str, &'static str, u16)]),
    /// How many requests to this exact path the server logged so far.
    ServerLoggedAt(&'static str, usize),
    /// A line sent exactly as given, and its reply, whose `id` must be this JSON (no integer id
    /// to wait for: the reply must be the next line).
    Raw(&'static str, Want, &'static str),
    /// The server holds every answer call for this many milliseconds (an injected latency).
    SlowAnswers(u64),
    /// The decision `op` on the showing request, its `{}`, then `request` (as [`Act::Ask`]) sent
    /// at once; `request`'s reply comes before `close_auth_otp` if the bool says so, else after
    /// `handle_otp`'s reply. `handle_otp`'s reply must be the first `Want`, `request`'s the second.
    DecidesThenAsks(&'static str, Want, &'static str, Want, bool),
    /// A `reset` with a request showing: its reply first if the bool says so, else after
    /// `close_auth_otp` and `handle_otp`'s 9006.
    ResetsWhileShowing(bool),
    /// A server that answers every request 404 with a plain-text body: sets `$PLAIN`.
    PlainServer,
}

/// A case of the table.
#[derive(Debug)]
struct Case {
    name: &'static str,
    readings: Readings,
    /// The fixture under `fixtures/servers/` of the server the driver is pointed at, if any.
    server: Option<&'static str>,
    acts: &'static [Act],
}

const CONFIGURE: &str = r#"{"op": "configure", "server_url": "$SERVER", "app_client_id": "mobauth-app"}"#;
const LOG_IN_ALICE: &str = r#"{"op": "authenticate", "username": "alice", "password": "alice-password"}"#;
const ENROLL: &str = r#"{"op": "enroll"}"#;
const IS_ENROLLED: &str = r#"{"op": "is_enrolled"}"#;
const STATE: &str = r#"{"op": "state"}"#;
const HANDLE_OTP: &str = r#"{"op": "handle_otp", "otp": "$OTP"}"#;
const OK: Want = Want::Ok("{}");
const ENROLLED: Want = Want::Ok(r#"{"enrolled": true}"#);
const NOT_ENROLLED: Want = Want::Ok(r#"{"enrolled": false}"#);
const ENROLLS: Want = Want::Ok(r#"{"re_enrolled": false}"#);
const ACCEPTED: Want = Want::Ok(r#"{"status": "accepted"}"#);
const NOT_ENROLLED_9021: Want = Want::Err(9021, "MOBILE_AUTHENTICATION_NOT_ENROLLED");
const NOT_IN_PROGRESS: Want = Want::Err(8053, "NOT_IN_PROGRESS_OTP_AUTHENTICATION");
const ALREADY_IN_PROGRESS: Want = Want::Err(8056, "ALREADY_IN_PROGRESS_MOBILE_AUTH");
const MALFORMED: Want = Want::Err(8009, "PARAMETERS_NOT_CORRECT");

/// An enrolled alice on the default server.
const ALICE_ENROLLED: [Act; 3] =
    [Act::Ask(CONFIGURE, OK), Act::Ask(LOG_IN_ALICE, OK), Act::Ask(ENROLL, ENROLLS)];

/// Every error message of the alternative driver begins so, and none of the default's does.
const ALTERNATIVE_TEXT: &str = "the SDK could not do this";

use Act::{
    AdminDeletes, Ask, Decides, DecidesThenAsks, Garbage, OtherDeviceEnrolls, PlainServer, Raw,
    ResetsWhileShowing, ServerLogged, ServerLoggedAt, Shows, SlowAnswers, StartsOtp,
};
const DEFAULT: Readings = Readings::Default;
const ALTERNATIVE: Readings = Readings::Alternative;

#[test]
fn the_reference_driver_takes_each_alternative_reading_and_its_default() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime for the mock servers");
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|case| {
            check(&runtime, case).err().map(|e| format!("{:?} {}: {e}", case.readings, case.name))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}
